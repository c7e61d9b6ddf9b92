// OpenID Connect Core ID tokens (§2, §3.1.3.6), issued beside an access token when its scope has
// `openid`: by the authorization-code exchange, and again on refresh (§12.2).
import { signJwt, tokenHash } from "../../crypto/jwt.js";
import type { Signer } from "../../crypto/keys.js";

export const OPENID_SCOPE = "openid";
export const ID_TOKEN_TYP = "JWT";

/** What the sign-in behind a token says about the user, for its ID token. */
export type IdTokenContext = {
  /** when the user authenticated (auth_time); null only for families stored before migration 0012 */
  authTime: Date | null;
  /** the authorization request's nonce, echoed exactly; never on refresh (§12.2: SHOULD NOT) */
  nonce: string | null;
  /** the browser session that signed in (sid) */
  sessionId: string | null;
};

export type IdTokenClaims = {
  issuer: string;
  subject: string;
  clientId: string;
  /** the access token's iat and exp: the ID token lives exactly as long (see README, ID tokens) */
  iat: number;
  exp: number;
  accessToken: string;
  context: IdTokenContext;
};

export const wantsIdToken = (scope: readonly string[]) => scope.includes(OPENID_SCOPE);

/**
 * Signed with the key that signed the access token: at_hash depends on its alg, and that key's stored
 * tokensExpireBy already covers exp (the same exp as the access token's), so no lease is needed.
 */
export function signIdToken(signer: Signer, c: IdTokenClaims): Promise<string> {
  const { authTime, nonce, sessionId } = c.context;
  const claims: Record<string, unknown> = {
    iss: c.issuer,
    sub: c.subject,
    aud: c.clientId,
    exp: c.exp,
    iat: c.iat,
    ...(authTime !== null && { auth_time: Math.floor(authTime.getTime() / 1000) }),
    ...(nonce !== null && { nonce }),
    at_hash: tokenHash(signer.alg, c.accessToken),
    ...(sessionId !== null && { sid: sessionId }),
  };
  return signJwt(signer, ID_TOKEN_TYP, claims);
}
