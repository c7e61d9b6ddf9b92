// The jti blocklist: revoked access tokens, kept until they would have expired anyway. A row with its
// token's status-list entry (status) makes that entry read INVALID (storage/status-lists.ts).
import { bumpVersion } from "./cache-versions.js";
import type { Db } from "./prisma.js";

/** status: the token's status-list entry (list × 2^20 + idx); null when unknown. */
export type RevokedAccessToken = { jti: string; clientId: string; expiresAt: Date; status: number | null };

export class RevokedAccessTokenRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Idempotent: revoking a jti twice keeps the first entry (and learns its status entry when the
   * first did not know it). Bumps the status lists' counter in the same transaction.
   */
  async revoke(tokens: RevokedAccessToken[], now: Date): Promise<void> {
    if (tokens.length === 0) return;
    await this.#db.$transaction([
      ...tokens.map((t) =>
        this.#db.revokedAccessToken.upsert({ where: { jti: t.jti }, create: { ...t, revokedAt: now }, update: t.status === null ? {} : { status: t.status } }),
      ),
      bumpVersion(this.#db, "status_lists"),
    ]);
  }

  /** One primary-key lookup. */
  async isRevoked(jti: string): Promise<boolean> {
    return (await this.#db.revokedAccessToken.findUnique({ where: { jti }, select: { jti: true } })) !== null;
  }

  async pruneExpired(now: Date): Promise<number> {
    return (await this.#db.revokedAccessToken.deleteMany({ where: { expiresAt: { lte: now } } })).count;
  }
}
