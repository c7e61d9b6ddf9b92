// Refresh-token families and tokens. Racy transitions are single conditional updates.
import type { Db } from "./prisma.js";

export type RefreshFamilyRecord = {
  id: string;
  clientId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** started by /login: may rotate at /refresh, without client authentication */
  viaLogin: boolean;
};

export type NewRefreshToken = {
  digest: string;
  familyId: string;
  scope: string[];
  audience: string[];
  issuedAt: Date;
  expiresAt: Date;
  accessTokenJti: string;
  accessTokenExpiresAt: Date;
};

export type RefreshTokenRecord = NewRefreshToken & { usedAt: Date | null; family: RefreshFamilyRecord };

const split = (list: string): string[] => (list === "" ? [] : list.split(" "));
const toRow = (t: NewRefreshToken) => ({ ...t, scope: t.scope.join(" "), audience: t.audience.join(" ") });

export class RefreshTokenRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async startFamily(family: Omit<RefreshFamilyRecord, "revokedAt">, first: NewRefreshToken): Promise<void> {
    await this.#db.$transaction([
      this.#db.refreshFamily.create({ data: family }),
      this.#db.refreshToken.create({ data: toRow(first) }),
    ]);
  }

  async findByDigest(digest: string): Promise<RefreshTokenRecord | null> {
    const row = await this.#db.refreshToken.findUnique({
      where: { digest },
      include: { family: { select: { id: true, clientId: true, userId: true, createdAt: true, expiresAt: true, revokedAt: true, viaLogin: true } } },
    });
    return row && { ...row, scope: split(row.scope), audience: split(row.audience) };
  }

  /**
   * Marks the token used if it is unused and unexpired and its family is alive. Of any number of
   * concurrent callers exactly one gets true.
   */
  async consumeIfActive(digest: string, now: Date): Promise<boolean> {
    const { count } = await this.#db.refreshToken.updateMany({
      where: { digest, usedAt: null, expiresAt: { gt: now }, family: { is: { revokedAt: null, expiresAt: { gt: now } } } },
      data: { usedAt: now },
    });
    return count === 1;
  }

  async insert(token: NewRefreshToken): Promise<void> {
    await this.#db.refreshToken.create({ data: toRow(token) });
  }

  /** The access tokens issued from a family that have not expired yet. */
  async liveAccessTokens(familyId: string, now: Date): Promise<{ jti: string; expiresAt: Date }[]> {
    const rows = await this.#db.refreshToken.findMany({
      where: { familyId, accessTokenExpiresAt: { gt: now } },
      select: { accessTokenJti: true, accessTokenExpiresAt: true },
    });
    return rows.map((r) => ({ jti: r.accessTokenJti, expiresAt: r.accessTokenExpiresAt }));
  }

  /**
   * Deletes what can no longer be used: tokens past their expiry, and families past theirs or revoked
   * before `revokedBefore` (their tokens go with them). Returns how many rows went.
   */
  async pruneDead(now: Date, revokedBefore: Date): Promise<number> {
    const deadFamily = { OR: [{ expiresAt: { lte: now } }, { revokedAt: { lte: revokedBefore } }] };
    // The dead families' tokens are deleted here rather than by the cascade, so that they are counted.
    const [tokens, families] = await this.#db.$transaction([
      this.#db.refreshToken.deleteMany({ where: { OR: [{ expiresAt: { lte: now } }, { family: { is: deadFamily } }] } }),
      this.#db.refreshFamily.deleteMany({ where: deadFamily }),
    ]);
    return tokens.count + families.count;
  }

  /** false when the family was already revoked (or does not exist). */
  async revokeFamily(familyId: string, reason: string, now: Date): Promise<boolean> {
    const { count } = await this.#db.refreshFamily.updateMany({
      where: { id: familyId, revokedAt: null },
      data: { revokedAt: now, revokedReason: reason },
    });
    return count === 1;
  }
}
