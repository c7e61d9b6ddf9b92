// Revocation by an administrator (POST /admin/tokens/revoke): any access token of this tessera, given
// as the token or as its jti, whatever its client (a disabled or deleted client's too, which nobody
// else can revoke), and the family of any refresh token. Every revocation is audited under the admin.
import { NotFoundError, ValidationError } from "../../errors/internal.js";
import type { AuditRepository } from "../../storage/audit.js";
import { epochSeconds } from "../clock.js";
import { MAX_TOKEN_TTL_SECONDS } from "../clients/client-service.js";
import { invalidateAccessTokens, statusEntryOf, type InvalidateDeps } from "./invalidate-access-tokens.js";
import { findToken, type TokenStateDeps } from "./token-state.js";

export type AdminRevocationDeps = TokenStateDeps & InvalidateDeps & { audit: AuditRepository };

/** The token itself, or the jti of an access token with its exp (epoch seconds) when known. */
export type AdminRevocationRequest = { token: string } | { jti: string; exp?: number };

export type AdminRevocationResult =
  | { revoked: "access_token"; jti: string; clientId: string | null; expiresAt: Date }
  | { revoked: "refresh_family"; familyId: string; clientId: string };

// jti values tessera issues are UUIDs; a bound keeps any other text within what an index can hold.
export const MAX_JTI_LENGTH = 256;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export async function revokeAsAdmin(deps: AdminRevocationDeps, request: AdminRevocationRequest, actor: string): Promise<AdminRevocationResult> {
  if ("token" in request) return revokeToken(deps, request.token, actor);
  const { jti } = request;
  if (jti.length === 0 || jti.length > MAX_JTI_LENGTH || CONTROL_CHARACTERS.test(jti)) {
    throw new ValidationError(`jti: must be 1 to ${MAX_JTI_LENGTH} characters, without control characters`);
  }
  // No token lives longer than the longest lifetime there is: without exp, block the jti that long.
  const latest = epochSeconds(deps.clock) + Math.max(deps.config.accessTokenTtlSeconds, MAX_TOKEN_TTL_SECONDS) + deps.config.clockSkewSeconds;
  const exp = request.exp ?? latest;
  if (!Number.isInteger(exp) || exp < 0 || exp > latest) {
    throw new ValidationError(`exp: must be a time in epoch seconds no later than ${latest}, the latest a token of this server can expire`);
  }
  // A bare jti names no status-list entry (none is stored per token): only the blocklist learns it.
  return blockAccessToken(deps, jti, null, exp, null, actor);
}

async function revokeToken(deps: AdminRevocationDeps, token: string, actor: string): Promise<AdminRevocationResult> {
  const found = await findToken(deps, token);
  if (!found) throw new NotFoundError("not a live token of this server: nothing to revoke");
  if (found.type === "access_token") {
    const { jti, exp } = found.claims;
    return blockAccessToken(deps, jti, found.clientId, exp, statusEntryOf(deps.config.issuer, found.claims), actor);
  }
  const { record } = found;
  await deps.refreshTokens.revokeFamily(record, "admin"); // false when revoked already: the same outcome
  await audited(deps, actor, "refresh_token.revoke", `refresh_family:${record.familyId}`, { clientId: found.clientId });
  return { revoked: "refresh_family", familyId: record.familyId, clientId: found.clientId };
}

async function blockAccessToken(
  deps: AdminRevocationDeps,
  jti: string,
  clientId: string | null,
  exp: number,
  status: number | null,
  actor: string,
): Promise<AdminRevocationResult> {
  const expiresAt = new Date(exp * 1000);
  // The blocklist keeps the client for information only; "" when the admin named the jti alone.
  await invalidateAccessTokens(deps, [{ jti, clientId: clientId ?? "", expiresAt, status }]);
  await audited(deps, actor, "access_token.revoke", `access_token:${jti}`, { clientId, exp });
  return { revoked: "access_token", jti, clientId, expiresAt };
}

function audited(deps: AdminRevocationDeps, actor: string, action: string, target: string, details: Record<string, unknown>): Promise<void> {
  return deps.audit.record({ at: new Date(deps.clock.now()), actor, action, target, details });
}
