// DPoP proofs as a client makes them (RFC 9449 §4.2), with jose, and the ways tests spoil them.
import { randomUUID, createHash } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

export type DpopKeyPair = { privateKey: CryptoKey; publicJwk: JWK; alg: string; jkt: string };

export async function dpopKey(alg = "ES256"): Promise<DpopKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, alg, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };
}

export type ProofClaims = { htm?: string; htu?: string; iat?: number; jti?: string; nonce?: string; ath?: string; [claim: string]: unknown };

/**
 * A proof for `claims` (htm POST, a fresh jti and iat `nowSeconds` unless given; `undefined` drops a
 * claim), with `header` members replacing the usual {alg, typ: "dpop+jwt", jwk}.
 */
export async function dpopProof(key: DpopKeyPair, claims: ProofClaims & { nowSeconds: number }, header: Record<string, unknown> = {}): Promise<string> {
  const { nowSeconds, ...rest } = claims;
  const payload = Object.fromEntries(Object.entries({ htm: "POST", jti: randomUUID(), iat: nowSeconds, ...rest }).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: "dpop+jwt", jwk: key.publicJwk, ...header } as never).sign(key.privateKey);
}

/** base64url(SHA-256(token)): a proof's ath for an access token. */
export const ath = (token: string) => createHash("sha256").update(token).digest("base64url");

/** A compact JWS with any header and payload and a made-up signature (alg none, HS256, ...). */
export const unsignedJws = (header: Record<string, unknown>, payload: Record<string, unknown>, signature = "c2ln") =>
  `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;

export type { JWK };
