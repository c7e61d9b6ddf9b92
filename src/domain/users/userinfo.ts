// The OpenID Connect UserInfo answer (OIDC Core §5.3): the bearer of a live access token with scope
// openid learns `sub`, and the claims of the scopes it has (§5.4): profile → name and
// preferred_username, email → email and email_verified. Claims the user does not have are left out.
import { InsufficientScope, InvalidToken } from "../../errors/oauth.js";
import { OPENID_SCOPE } from "../tokens/id-token.js";
import { findAccessToken, type TokenStateDeps } from "../tokens/token-state.js";
import type { UserService } from "./user-service.js";

export type UserInfo = { sub: string; name?: string; preferred_username?: string; email?: string; email_verified?: boolean };

export type UserInfoDeps = TokenStateDeps & { users: UserService };

const INVALID = "the access token is invalid, expired or revoked";

// RFC 6750 §3: the scope the token lacks, in the challenge (the error handler's usual one names admin).
export const INSUFFICIENT_SCOPE_CHALLENGE = `Bearer realm="tessera", error="insufficient_scope", scope="${OPENID_SCOPE}"`;

/**
 * Any live access token of ours (signature, typ, issuer, expiry, not revoked, its client enabled)
 * whatever its audience: the scope openid is what grants /userinfo, as at Hydra and Keycloak. Its
 * subject must be a user who exists and is enabled now (a client-credentials token's is a client).
 */
export async function userInfo(deps: UserInfoDeps, token: string): Promise<UserInfo> {
  const found = await findAccessToken(deps, token);
  if (found?.type !== "access_token" || !found.active) throw new InvalidToken(INVALID);
  const scope = found.claims.scope?.split(" ") ?? [];
  if (!scope.includes(OPENID_SCOPE)) throw new InsufficientScope("scope openid is required", { challenge: INSUFFICIENT_SCOPE_CHALLENGE });
  const user = await deps.users.findEnabled(found.claims.sub);
  if (!user) throw new InvalidToken(INVALID);
  return {
    sub: user.id,
    ...(scope.includes("profile") && { ...(user.name !== null && { name: user.name }), preferred_username: user.username }),
    ...(scope.includes("email") && user.email !== null && { email: user.email, email_verified: user.emailVerified }),
  };
}
