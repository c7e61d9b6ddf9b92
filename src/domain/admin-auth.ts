// Who may call /admin: the bearer of an access token issued by this tessera, alive (signature, typ,
// issuer, expiry, blocklist, its client registered and enabled), for this tessera (the issuer among its
// audiences), with scope `admin`, whose client still has scope `admin` and the issuer as audience.
import { InsufficientScope, InvalidToken } from "../errors/oauth.js";
import { findAccessToken, type TokenStateDeps } from "./tokens/token-state.js";

export const ADMIN_SCOPE = "admin";

export type AdminPrincipal = { clientId: string; subject: string; actor: string };

export async function authenticateAdmin(deps: TokenStateDeps, token: string): Promise<AdminPrincipal> {
  const found = await findAccessToken(deps, token);
  if (found?.type !== "access_token" || !found.active) throw new InvalidToken("the access token is invalid, expired or revoked");
  if (!found.audience.includes(deps.config.issuer)) throw new InvalidToken("the access token is not for this server");
  if (!found.claims.scope?.split(" ").includes(ADMIN_SCOPE)) throw new InsufficientScope("scope admin is required");
  // What the client may do now, not what it could when the token was issued (the registry is in memory).
  const client = deps.clients.get(found.claims.client_id);
  if (!client?.audiences.includes(deps.config.issuer)) throw new InvalidToken("the client of this token is no longer registered for this server");
  if (!client.scopes.includes(ADMIN_SCOPE)) throw new InsufficientScope("the client of this token no longer has scope admin");
  return { clientId: found.claims.client_id, subject: found.claims.sub, actor: `admin:${found.claims.client_id}` };
}
