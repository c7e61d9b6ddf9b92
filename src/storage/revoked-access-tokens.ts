// The jti blocklist: revoked access tokens, kept until they would have expired anyway.
import type { Db } from "./prisma.js";

export type RevokedAccessToken = { jti: string; clientId: string; expiresAt: Date };

export class RevokedAccessTokenRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Idempotent: revoking a jti twice keeps the first entry. */
  async revoke(tokens: RevokedAccessToken[], now: Date): Promise<void> {
    if (tokens.length === 0) return;
    await this.#db.$transaction(
      tokens.map((t) => this.#db.revokedAccessToken.upsert({ where: { jti: t.jti }, create: { ...t, revokedAt: now }, update: {} })),
    );
  }

  /** One primary-key lookup. */
  async isRevoked(jti: string): Promise<boolean> {
    return (await this.#db.revokedAccessToken.findUnique({ where: { jti }, select: { jti: true } })) !== null;
  }

  async pruneExpired(now: Date): Promise<number> {
    return (await this.#db.revokedAccessToken.deleteMany({ where: { expiresAt: { lte: now } } })).count;
  }
}
