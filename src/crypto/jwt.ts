// Signs JWTs with the active signing key (RFC 7515 compact serialisation).
import { SignJWT, type JWTPayload } from "jose";
import type { Signer } from "./keys.js";

/** Signs `claims` with header { alg, typ, kid }. Claims are taken as given: callers set iat/exp. */
export function signJwt(signer: Signer, typ: string, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: signer.alg, typ, kid: signer.kid }).sign(signer.key);
}
