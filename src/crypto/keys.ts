// Signing-key material: generation, RFC 7638 thumbprints, PKCS#8 import/export, public JWKs.
import { createPrivateKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from "jose";
import type { SigningAlg } from "../config/schema.js";

export type GeneratedKey = { kid: string; alg: SigningAlg; publicJwk: JWK; privatePkcs8: string };
/** A private key ready to sign with (see jwt.ts signJwt), a node:crypto KeyObject. */
export type Signer = { kid: string; alg: SigningAlg; key: KeyObject };

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ["kty", "n", "e"],
  EC: ["kty", "crv", "x", "y"],
  OKP: ["kty", "crv", "x"],
};

/** Only the public members of a key, plus kid/alg/use: nothing private can slip into the JWKS. */
export function publicJwk(jwk: JWK, kid: string, alg: string): JWK {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ""];
  if (!members) throw new TypeError(`unsupported key type ${jwk.kty}`);
  const source = jwk as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const m of members) out[m] = source[m];
  return { ...out, kid, alg, use: "sig" } as JWK;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of the key's required members: the kid of our keys. */
export const jwkThumbprint = (jwk: JWK): Promise<string> => calculateJwkThumbprint(jwk, "sha256");

export async function generateSigningKey(alg: SigningAlg): Promise<GeneratedKey> {
  const options = alg === "RS256" || alg === "PS256" ? { modulusLength: 2048, extractable: true } : { extractable: true };
  const { publicKey, privateKey } = await generateKeyPair(alg, options);
  const jwk = await exportJWK(publicKey);
  const kid = await jwkThumbprint(jwk);
  return { kid, alg, publicJwk: publicJwk(jwk, kid, alg), privatePkcs8: await exportPKCS8(privateKey) };
}

export async function importSigner(kid: string, alg: SigningAlg, privatePkcs8: string): Promise<Signer> {
  const key = createPrivateKey(privatePkcs8);
  const expected = { RS256: "rsa", PS256: "rsa", ES256: "ec", EdDSA: "ed25519" }[alg];
  if (key.asymmetricKeyType !== expected) throw new TypeError(`key ${kid} is ${key.asymmetricKeyType}, not a key for ${alg}`);
  return { kid, alg, key };
}
