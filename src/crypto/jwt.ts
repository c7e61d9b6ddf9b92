// Signs and verifies JWTs (RFC 7515 compact serialisation) with tessera's own keys.
import { constants, createHash, sign, type SignKeyObjectInput } from "node:crypto";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { SIGNING_ALGS, type SigningAlg } from "../config/schema.js";
import type { Signer } from "./keys.js";

const base64url = (json: unknown) => Buffer.from(JSON.stringify(json)).toString("base64url");

// RFC 7518 §3.3-3.5 and RFC 8037: the digest and the key options that make node:crypto's signature
// the JWS one (P-1363 r||s for ECDSA, not DER; PSS with a salt as long as the digest).
const SIGNATURES: Record<SigningAlg, { digest: string | null; options: Omit<SignKeyObjectInput, "key"> }> = {
  RS256: { digest: "sha256", options: { padding: constants.RSA_PKCS1_PADDING } },
  PS256: { digest: "sha256", options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  ES256: { digest: "sha256", options: { dsaEncoding: "ieee-p1363" } },
  EdDSA: { digest: null, options: {} },
};

/**
 * Signs `claims` with header { alg, typ, kid }. Claims are taken as given: callers set iat/exp.
 * node:crypto's sign() with a callback rather than jose's SignJWT (WebCrypto): both sign on libuv's
 * thread pool, but this takes about half the event-loop time per token (measured here: RS256 ~50 µs
 * instead of ~90, ES256 ~15 instead of ~40), and the event loop is what limits /token. Verification
 * stays with jose (jwtVerifier below); the tests verify what is signed here with jose.
 */
export function signJwt(signer: Signer, typ: string, claims: JWTPayload): Promise<string> {
  const { digest, options } = SIGNATURES[signer.alg];
  const input = `${base64url({ alg: signer.alg, typ, kid: signer.kid })}.${base64url(claims)}`;
  return new Promise((resolve, reject) => {
    sign(digest, Buffer.from(input), { key: signer.key, ...options }, (error, signature) =>
      error ? reject(error) : resolve(`${input}.${signature.toString("base64url")}`),
    );
  });
}

/** clockToleranceSeconds: how long past its exp a token is still taken (an id_token_hint may be expired). */
export type VerifyOptions = { issuer: string; typ: string; now: Date; clockToleranceSeconds?: number };
export type JwtVerifier = (token: string, options: VerifyOptions) => Promise<JWTPayload>;

/**
 * A verifier over a fixed key set. Only the asymmetric algorithms tessera signs with are accepted, so
 * `alg: none` and HMAC tokens (e.g. keyed with a public key) fail; the key comes from our set by
 * `kid`, never from `jku`/`x5u`/`jwk` headers. Throws on any failure.
 */
export function jwtVerifier(jwks: JSONWebKeySet): JwtVerifier {
  const keys = createLocalJWKSet(jwks);
  return async (token, { issuer, typ, now, clockToleranceSeconds = 0 }) => {
    const { payload } = await jwtVerify(token, keys, { issuer, typ, currentDate: now, clockTolerance: clockToleranceSeconds, algorithms: [...SIGNING_ALGS] });
    return payload;
  };
}

// Client assertions may use any asymmetric JWS algorithm; never none or HMAC (RFC 7523 §2.2 keys are public).
// The one list: the verifier below accepts exactly these, and the metadata advertises exactly these.
export const CLIENT_ASSERTION_ALGS: readonly string[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

export type AssertionOptions = { clientId: string; audiences: string[]; now: Date; clockToleranceSeconds: number };

/** Verifies a private_key_jwt client assertion against the client's registered keys; throws on failure. */
export async function verifyClientAssertion(assertion: string, jwks: JSONWebKeySet, o: AssertionOptions): Promise<JWTPayload> {
  const { payload } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
    issuer: o.clientId,
    subject: o.clientId,
    audience: o.audiences,
    currentDate: o.now,
    clockTolerance: o.clockToleranceSeconds,
    algorithms: [...CLIENT_ASSERTION_ALGS],
    requiredClaims: ["exp", "jti"],
  });
  return payload;
}

/** The claims of a JWT, unverified: only to find whose keys must verify it. null if not a JWT. */
export function unverifiedClaims(token: string): JWTPayload | null {
  try {
    return decodeJwt(token);
  } catch {
    return null;
  }
}

// OIDC Core §3.1.3.6: at_hash hashes with the hash of the ID token's JWS alg; EdDSA (Ed25519, the
// only curve our keys use) with SHA-512, as node-oidc-provider (oidc-token-hash) and openid-client
// (oauth4webapi) do (OpenID Connect Core errata set 2 says the same for Ed25519).
const TOKEN_HASHES: Record<SigningAlg, string> = { RS256: "sha256", PS256: "sha256", ES256: "sha256", EdDSA: "sha512" };

/** The left-most half of the hash of `value`'s ASCII octets, base64url: at_hash (and c_hash) for `alg`. */
export function tokenHash(alg: SigningAlg, value: string): string {
  const digest = createHash(TOKEN_HASHES[alg]).update(value, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}
