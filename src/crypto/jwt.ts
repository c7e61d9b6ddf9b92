// Signs and verifies JWTs (RFC 7515 compact serialisation) with tessera's own keys.
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from "jose";
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
