// Signs and verifies JWTs (RFC 7515 compact serialisation) with tessera's own keys.
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from "jose";
import { SIGNING_ALGS } from "../config/schema.js";
import type { Signer } from "./keys.js";

/** Signs `claims` with header { alg, typ, kid }. Claims are taken as given: callers set iat/exp. */
export function signJwt(signer: Signer, typ: string, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: signer.alg, typ, kid: signer.kid }).sign(signer.key);
}

export type VerifyOptions = { issuer: string; typ: string; now: Date };
export type JwtVerifier = (token: string, options: VerifyOptions) => Promise<JWTPayload>;

/**
 * A verifier over a fixed key set. Only the asymmetric algorithms tessera signs with are accepted, so
 * `alg: none` and HMAC tokens (e.g. keyed with a public key) fail; the key comes from our set by
 * `kid`, never from `jku`/`x5u`/`jwk` headers. Throws on any failure.
 */
export function jwtVerifier(jwks: JSONWebKeySet): JwtVerifier {
  const keys = createLocalJWKSet(jwks);
  return async (token, { issuer, typ, now }) => {
    const { payload } = await jwtVerify(token, keys, { issuer, typ, currentDate: now, algorithms: [...SIGNING_ALGS] });
    return payload;
  };
}

// Client assertions may use any asymmetric JWS algorithm; never none or HMAC (RFC 7523 §2.2 keys are public).
const ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

export type AssertionOptions = { clientId: string; audiences: string[]; now: Date; clockToleranceSeconds: number };

/** Verifies a private_key_jwt client assertion against the client's registered keys; throws on failure. */
export async function verifyClientAssertion(assertion: string, jwks: JSONWebKeySet, o: AssertionOptions): Promise<JWTPayload> {
  const { payload } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
    issuer: o.clientId,
    subject: o.clientId,
    audience: o.audiences,
    currentDate: o.now,
    clockTolerance: o.clockToleranceSeconds,
    algorithms: ASSERTION_ALGS,
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
