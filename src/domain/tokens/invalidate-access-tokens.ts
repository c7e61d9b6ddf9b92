// Ending access tokens before their exp: the one way every flow does it (RFC 7009 revocation, admin
// revocation, and the code flow, logout and ended grants). Each token goes on the jti blocklist
// (introspection and /userinfo ask it) with its Token Status List entry, whose bit then reads
// INVALID (1) on every instance within CACHE_REFRESH seconds, until the token expires.
// Refresh families are ended in storage/refresh-tokens.ts, which blocklists their access tokens the
// same way (entry included) in the family's transaction; a disabled or deleted client's tokens are
// ended by invalidating its status-list blocks (clients/client-service.ts).
import type { Config } from "../../config/schema.js";
import type { RevokedAccessToken, RevokedAccessTokenRepository } from "../../storage/revoked-access-tokens.js";
import type { Clock } from "../clock.js";
import { LIST_SIZE, MAX_LISTS } from "./status-index-allocator.js";
import type { StatusListRegistry } from "./status-list-registry.js";

export type InvalidateDeps = {
  config: Config;
  clock: Clock;
  blocklist: RevokedAccessTokenRepository;
  /** this instance's lists, rebuilt on their next fetch; null when STATUS_LIST is off */
  statusLists: StatusListRegistry | null;
};

/**
 * `status` is the token's status-list entry: `statusEntryOf(claims)` for a token at hand, or the
 * entry recorded with its jti; null when unknown (then only the blocklist knows).
 */
export type AccessTokenToInvalidate = RevokedAccessToken;

/** Blocklists the tokens and sets their status-list bits to INVALID. Idempotent. */
export async function invalidateAccessTokens(deps: InvalidateDeps, tokens: AccessTokenToInvalidate[]): Promise<void> {
  if (tokens.length === 0) return;
  await deps.blocklist.revoke(tokens, new Date(deps.clock.now()));
  deps.statusLists?.changed();
}

/**
 * The entry (list × 2^20 + idx) a verified access token of this issuer names in its `status` claim;
 * null when it has none (STATUS_LIST was off) or names a list that is not ours.
 */
export function statusEntryOf(issuer: string, claims: { status?: unknown }): number | null {
  const statusList = (claims.status as { status_list?: { idx?: unknown; uri?: unknown } } | undefined)?.status_list;
  const { idx, uri } = statusList ?? {};
  const prefix = `${issuer}/statuslists/`;
  if (typeof idx !== "number" || !Number.isInteger(idx) || idx < 0 || idx >= LIST_SIZE) return null;
  if (typeof uri !== "string" || !uri.startsWith(prefix)) return null;
  const list = uri.slice(prefix.length);
  if (!/^(0|[1-9]\d{0,3})$/.test(list) || Number(list) >= MAX_LISTS) return null;
  return Number(list) * LIST_SIZE + idx;
}
