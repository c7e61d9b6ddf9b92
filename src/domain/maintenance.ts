// Deleting what can no longer be used: blocklist entries past their token's expiry, refresh
// tokens and families past theirs, the jti of client assertions that have expired, authorization
// codes (a day after their expiry, once their access token has expired too), browser sessions
// past their absolute lifetime or ended (logged out), DPoP proofs seen that are past their window and
// pushed authorization requests past their expiry. Run on a timer by every instance (idempotent) and by `tessera prune`.
import { AuthorizationCodeRepository } from "../storage/authorization-codes.js";
import type { Db } from "../storage/prisma.js";
import { PushedAuthorizationRequestRepository } from "../storage/pushed-authorization-requests.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { RevokedAccessTokenRepository } from "../storage/revoked-access-tokens.js";
import { UsedClientAssertionRepository } from "../storage/used-client-assertions.js";
import { UsedDpopProofRepository } from "../storage/used-dpop-proofs.js";
import type { Clock } from "./clock.js";

// Revoked families are kept a day so that a late replay of one of their tokens is still recognised.
const KEEP_REVOKED_FAMILIES_MS = 24 * 3600 * 1000;

// Codes are kept a day past their expiry, so that a late replay still revokes what they issued.
const KEEP_EXPIRED_CODES_MS = 24 * 3600 * 1000;

export type PruneResult = {
  revokedAccessTokens: number;
  refreshTokenRows: number;
  clientAssertions: number;
  authorizationCodes: number;
  browserSessions: number;
  dpopProofs: number;
  pushedAuthorizationRequests: number;
};

export async function pruneExpired(db: Db, clock: Clock): Promise<PruneResult> {
  const now = new Date(clock.now());
  return {
    revokedAccessTokens: await new RevokedAccessTokenRepository(db).pruneExpired(now),
    refreshTokenRows: await new RefreshTokenRepository(db).pruneDead(now, new Date(now.getTime() - KEEP_REVOKED_FAMILIES_MS)),
    clientAssertions: await new UsedClientAssertionRepository(db).pruneExpired(now),
    authorizationCodes: await new AuthorizationCodeRepository(db).pruneDead(now, new Date(now.getTime() - KEEP_EXPIRED_CODES_MS)),
    browserSessions: await pruneBrowserSessions(db, now),
    dpopProofs: await new UsedDpopProofRepository(db).pruneExpired(now),
    pushedAuthorizationRequests: await new PushedAuthorizationRequestRepository(db).pruneExpired(now),
  };
}

/**
 * Browser sessions past their absolute lifetime, or ended. Their refresh families keep their sessionId
 * (no foreign key): a family outlives the browser session that started it.
 */
async function pruneBrowserSessions(db: Db, now: Date): Promise<number> {
  const { count } = await db.browserSession.deleteMany({ where: { OR: [{ expiresAt: { lte: now } }, { endedAt: { not: null } }] } });
  return count;
}
