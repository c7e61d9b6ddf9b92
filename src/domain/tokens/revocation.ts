// POST /revoke (RFC 7009). A client revokes only its own tokens; unknown, malformed, expired or
// foreign tokens change nothing and still answer 200, so the endpoint tells an attacker nothing.
import type { ClientRecord } from "../../storage/clients.js";
import { invalidateAccessTokens, statusEntryOf, type InvalidateDeps } from "./invalidate-access-tokens.js";
import { findToken, type TokenStateDeps } from "./token-state.js";

export type RevocationDeps = TokenStateDeps & InvalidateDeps;

/** `client` is the authenticated requester (clients/authenticate.ts). */
export async function revoke(deps: RevocationDeps, client: ClientRecord, token: string, hint?: string): Promise<void> {
  const found = await findToken(deps, token, hint);
  if (!found || found.clientId !== client.id) return;
  if (found.type === "refresh_token") {
    await deps.refreshTokens.revokeFamily(found.record, "revocation");
    return;
  }
  const { jti, exp } = found.claims;
  const status = statusEntryOf(deps.config.issuer, found.claims);
  await invalidateAccessTokens(deps, [{ jti, clientId: client.id, expiresAt: new Date(exp * 1000), status }]);
}
