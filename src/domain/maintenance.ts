// Deleting what can no longer be used: blocklist entries past their token's expiry, refresh
// tokens and families past theirs, and the jti of client assertions that have expired. Run on a timer by every instance (idempotent) and by `tessera prune`.
import type { Db } from "../storage/prisma.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { RevokedAccessTokenRepository } from "../storage/revoked-access-tokens.js";
import { UsedClientAssertionRepository } from "../storage/used-client-assertions.js";
import type { Clock } from "./clock.js";

// Revoked families are kept a day so that a late replay of one of their tokens is still recognised.
const KEEP_REVOKED_FAMILIES_MS = 24 * 3600 * 1000;

export type PruneResult = { revokedAccessTokens: number; refreshTokenRows: number; clientAssertions: number };

export async function pruneExpired(db: Db, clock: Clock): Promise<PruneResult> {
  const now = new Date(clock.now());
  return {
    revokedAccessTokens: await new RevokedAccessTokenRepository(db).pruneExpired(now),
    refreshTokenRows: await new RefreshTokenRepository(db).pruneDead(now, new Date(now.getTime() - KEEP_REVOKED_FAMILIES_MS)),
    clientAssertions: await new UsedClientAssertionRepository(db).pruneExpired(now),
  };
}
