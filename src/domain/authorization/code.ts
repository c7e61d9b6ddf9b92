// Authorization codes (RFC 6749 §4.1.2, OAuth 2.1 §4.1.2): a random 256-bit value, of which only the
// SHA-256 digest is stored, living 60 seconds, bound to everything the request named. Exchanged at
// /token by grants/authorization-code.ts.
import { randomToken, sha256 } from "../../crypto/secrets.js";
import { InvalidRequest } from "../../errors/oauth.js";
import type { AuthorizationCodeRepository } from "../../storage/authorization-codes.js";
import type { Clock } from "../clock.js";

/** RFC 6749 §4.1.2 recommends at most 10 minutes; OAuth 2.1 and RFC 9700 favour short ones. */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;

// randomToken(32): 43 base64url characters. Anything else cannot be ours and needs no database round trip.
export const AUTHORIZATION_CODE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export type AuthorizationCodeDeps = { authorizationCodes: AuthorizationCodeRepository; clock: Clock };

/** What a code is bound to; /token checks each against the exchange. */
export type CodeBinding = {
  clientId: string;
  userId: string;
  /** the grant (remembered consent) it is issued under: revoking the grant ends the code's tokens */
  grantId: string;
  /** the browser session that signed in (the OIDC sid) */
  sessionId: string;
  /** the effective redirect URI: the one requested, or the client's only one */
  redirectUri: string;
  /** the request named redirect_uri: /token must then send the same one (RFC 6749 §4.1.3) */
  redirectUriSent: boolean;
  /** the S256 code challenge (RFC 7636 §4.2); plain is never accepted */
  codeChallenge: string;
  scope: string[];
  audience: string[];
  nonce?: string | undefined;
  /** RFC 9449 §10: the exchange must prove possession of this DPoP key (dpop_jkt, or PAR's proof) */
  dpopJkt?: string | undefined;
  /** when the user last entered a password in that session (OIDC auth_time) */
  authTime: Date;
};

/** Stores a new code for `binding` and returns it (shown once: only its digest is kept). */
export async function issueAuthorizationCode(deps: AuthorizationCodeDeps, binding: CodeBinding): Promise<string> {
  const code = randomToken(32);
  const now = deps.clock.now();
  const stored = await deps.authorizationCodes.insert({
    digest: sha256(code),
    clientId: binding.clientId,
    userId: binding.userId,
    grantId: binding.grantId,
    sessionId: binding.sessionId,
    redirectUri: binding.redirectUri,
    redirectUriSent: binding.redirectUriSent,
    codeChallenge: binding.codeChallenge,
    scope: binding.scope,
    audience: binding.audience,
    nonce: binding.nonce ?? null,
    dpopJkt: binding.dpopJkt ?? null,
    authTime: binding.authTime,
    issuedAt: new Date(now),
    expiresAt: new Date(now + AUTHORIZATION_CODE_TTL_SECONDS * 1000),
  });
  // The client or user was deleted between the request's checks and this insert.
  if (!stored) throw new InvalidRequest("the client or user of this request no longer exists");
  return code;
}
