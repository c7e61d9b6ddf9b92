// The OpenID Connect UserInfo answer (OIDC Core §5.3): the bearer of a live access token with scope
// openid learns `sub`, and the claims of the scopes it has (§5.4): profile → name and
// preferred_username, email → email and email_verified. Claims the user does not have are left out.
// A DPoP-bound token (cnf.jkt) counts only with the DPoP scheme and a proof by its key (RFC 9449 §7).
import { DPOP_SIGNING_ALGS } from "../../crypto/dpop.js";
import { InsufficientScope, InvalidDpopProof, InvalidToken } from "../../errors/oauth.js";
import type { DpopKey } from "../grants/index.js";
import { OPENID_SCOPE } from "../tokens/id-token.js";
import { findAccessToken, type TokenStateDeps } from "../tokens/token-state.js";
import type { UserService } from "./user-service.js";

export type UserInfo = { sub: string; name?: string; preferred_username?: string; email?: string; email_verified?: boolean };

export type UserInfoDeps = TokenStateDeps & { users: UserService };

/** How the token came: as a bearer token (RFC 6750), or with the DPoP scheme and the key its proof proved (RFC 9449 §7.1). */
export type Presentation = { scheme: "Bearer" } | { scheme: "DPoP"; key: DpopKey };

const INVALID = "the access token is invalid, expired or revoked";
const DPOP_ALGS = DPOP_SIGNING_ALGS.join(" ");

/**
 * The challenge of the scheme the request used (RFC 6750 §3; RFC 9449 §7.1, which adds `algs`).
 * No error: the answer to a request without credentials, offering both schemes.
 */
export function userInfoChallenge(scheme: "Bearer" | "DPoP", error?: string, scope?: string): string {
  const params = ['realm="tessera"', ...(error ? [`error="${error}"`] : []), ...(scope ? [`scope="${scope}"`] : [])];
  return scheme === "DPoP" ? `DPoP ${[...params, `algs="${DPOP_ALGS}"`].join(", ")}` : `Bearer ${params.join(", ")}`;
}

/**
 * Any live access token of ours (signature, typ, issuer, expiry, not revoked, its client enabled)
 * whatever its audience: the scope openid is what grants /userinfo, as at Hydra and Keycloak. Its
 * subject must be a user who exists and is enabled now (a client-credentials token's is a client).
 */
export async function userInfo(deps: UserInfoDeps, token: string, presented: Presentation = { scheme: "Bearer" }): Promise<UserInfo> {
  const { scheme } = presented;
  const invalid = (description: string) => new InvalidToken(description, { challenge: userInfoChallenge(scheme, "invalid_token") });
  const found = await findAccessToken(deps, token);
  if (found?.type !== "access_token" || !found.active) throw invalid(INVALID);
  const jkt = found.claims.cnf?.jkt;
  // RFC 9449 §7.2: a bound token as a bearer token would let whoever stole it use it.
  if (scheme === "Bearer" && jkt !== undefined) throw invalid("the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof");
  if (presented.scheme === "DPoP") {
    // §4.3 check 12: the proof's key must be the one the token is bound to; an unbound token has none.
    if (jkt === undefined) throw invalid("the access token is not DPoP-bound: present it as a Bearer token");
    if (jkt !== presented.key.jkt) {
      throw new InvalidDpopProof("the DPoP proof is not signed by the key the access token is bound to", { status: 401, challenge: userInfoChallenge("DPoP", "invalid_dpop_proof") });
    }
  }
  const scope = found.claims.scope?.split(" ") ?? [];
  if (!scope.includes(OPENID_SCOPE)) throw new InsufficientScope("scope openid is required", { challenge: userInfoChallenge(scheme, "insufficient_scope", OPENID_SCOPE) });
  const user = await deps.users.findEnabled(found.claims.sub);
  if (!user) throw invalid(INVALID);
  return {
    sub: user.id,
    ...(scope.includes("profile") && { ...(user.name !== null && { name: user.name }), preferred_username: user.username }),
    ...(scope.includes("email") && user.email !== null && { email: user.email, email_verified: user.emailVerified }),
  };
}
