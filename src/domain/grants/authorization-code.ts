// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5-4.6): a code from /authorize for an access token, and a
// refresh token when the client may refresh. The code is single use: presented again, it revokes
// every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5.3), then fails.
import { isCodeVerifier, s256CodeChallenge } from "../../crypto/pkce.js";
import { constantTimeEqual, sha256 } from "../../crypto/secrets.js";
import { InvalidGrant, InvalidRequest } from "../../errors/oauth.js";
import type { AuthorizationCodeRecord } from "../../storage/authorization-codes.js";
import { AUTHORIZATION_CODE_FORMAT } from "../authorization/code.js";
import type { TokenResponse } from "../tokens/access-token.js";
import { invalidateAccessTokens } from "../tokens/invalidate-access-tokens.js";
import type { GrantContext, GrantDeps } from "./index.js";

export const grantType = "authorization_code";

// One description for every way a code can be wrong, so that an answer tells a guesser nothing.
const INVALID_CODE = "authorization code is invalid, expired or used";

export async function handle({ client, params, dpop, deps }: GrantContext): Promise<TokenResponse> {
  const { code: presented, code_verifier: verifier, redirect_uri: redirectUri } = params;
  if (presented === undefined) throw new InvalidRequest("code is required");
  // RFC 7636 §4.5 and OAuth 2.1: every code was issued with a challenge, so a verifier is required.
  if (verifier === undefined) throw new InvalidRequest("code_verifier is required (PKCE)");
  if (!AUTHORIZATION_CODE_FORMAT.test(presented)) throw new InvalidGrant(INVALID_CODE);
  const code = await deps.authorizationCodes.findByDigest(sha256(presented));
  // Another client's code: refused, and left as it is (its own client may still exchange it).
  if (!code || code.clientId !== client.id) throw new InvalidGrant(INVALID_CODE);
  if (code.usedAt) return replayed(deps, code);
  const now = new Date(deps.clock.now());
  if (code.expiresAt <= now) throw new InvalidGrant(INVALID_CODE);
  // RFC 6749 §4.1.3: sent to /authorize, then required here and identical. Not sent: may be omitted.
  if (code.redirectUriSent ? redirectUri !== code.redirectUri : redirectUri !== undefined && redirectUri !== code.redirectUri) {
    throw new InvalidGrant("redirect_uri does not match the authorization request");
  }
  // RFC 7636 §4.6, S256 only. A malformed verifier cannot match a challenge: the same error.
  if (!isCodeVerifier(verifier) || !constantTimeEqual(s256CodeChallenge(verifier), code.codeChallenge)) {
    throw new InvalidGrant("code_verifier does not match the code_challenge (PKCE)");
  }
  // RFC 9449 §10: a code bound to a DPoP key (dpop_jkt, or the proof sent to /par) is exchanged only
  // with a proof of that key; a thief of the code without the key gets nothing, and the code stays.
  if (code.dpopJkt !== null && code.dpopJkt !== dpop?.jkt) {
    throw new InvalidGrant("the authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof of that key");
  }
  if (!code.userEnabled) throw new InvalidGrant("the user of this authorization code is disabled");
  const audience = code.audience.length === 1 ? code.audience[0]! : code.audience;
  const planned = await deps.refreshTokens.planSession({
    grantType,
    client,
    userId: code.userId,
    scope: code.scope,
    audience,
    grantId: code.grantId,
    sessionId: code.sessionId,
    // OpenID Connect Core §3.1.3.3: with scope openid the answer carries an ID token (id-token.ts);
    // auth_time always (so max_age needs nothing more, §3.1.2.1), the nonce exactly as it was sent.
    idToken: { authTime: code.authTime, nonce: code.nonce, sessionId: code.sessionId },
    // RFC 9449 §5: the access token, and a public client's refresh family, bound to the proof's key.
    jkt: dpop?.jkt ?? null,
  });
  const issued = {
    accessTokenJti: planned.access.jti,
    accessTokenExpiresAt: new Date(planned.access.expiresAtMs),
    accessTokenStatus: planned.access.status,
    family: planned.family,
  };
  if (!(await deps.authorizationCodes.exchange(code, now, issued))) {
    // Lost to a concurrent exchange (then it is a replay: the code was used twice), or the grant was
    // revoked, the code expired or the client went meanwhile.
    const again = await deps.authorizationCodes.findByDigest(code.digest);
    if (again?.usedAt) return replayed(deps, again);
    throw new InvalidGrant(INVALID_CODE);
  }
  return planned.issue();
}

/** The code was used before: what it issued is revoked (its refresh family, its access token). */
async function replayed(deps: GrantDeps, code: AuthorizationCodeRecord): Promise<never> {
  const now = new Date(deps.clock.now());
  const family = code.familyId === null ? null : await deps.refreshTokens.revokeFamilyById(code.familyId, "code_replay");
  // Blocklisted with the family when there is one; without one, this is the only token it issued.
  if (code.accessTokenJti !== null && code.accessTokenExpiresAt !== null && code.accessTokenExpiresAt > now) {
    const token = { jti: code.accessTokenJti, clientId: code.clientId, expiresAt: code.accessTokenExpiresAt, status: code.accessTokenStatus };
    await invalidateAccessTokens(deps, [token]);
  }
  deps.log.warn({ clientId: code.clientId, userId: code.userId, familyId: code.familyId }, "authorization code presented again: tokens issued from it revoked");
  await deps.audit.record({
    at: now,
    actor: `client:${code.clientId}`,
    action: "authorization_code.replay",
    target: `user:${code.userId}`,
    details: { grantId: code.grantId, familyId: code.familyId, familyRevoked: family?.revoked ?? false },
  });
  throw new InvalidGrant(INVALID_CODE);
}
