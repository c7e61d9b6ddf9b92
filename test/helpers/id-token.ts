// An id_token_hint as tessera's ID tokens are (OpenID Connect Core §2, header typ JWT): signed by the
// app's key ring, with iss, sub (the user id), aud (the client_id), sid (the browser session), iat, exp.
import type { FastifyInstance } from "fastify";
import { signJwt } from "../../src/crypto/jwt.js";
import type { Signer } from "../../src/crypto/keys.js";

export type HintClaims = { sub: string; aud: string | string[]; sid?: string; iat?: number; exp?: number; iss?: string };

/** `signer`: another key to forge one with (the app's active key by default). */
export function idTokenHint(app: FastifyInstance, claims: HintClaims, signer?: Signer): Promise<string> {
  const now = Math.floor(app.services.clock.now() / 1000);
  return signJwt(signer ?? app.services.keys.signer!, "JWT", { iss: app.services.config.issuer, iat: now, exp: now + 300, ...claims });
}
