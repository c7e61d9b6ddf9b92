// Refresh-token families and tokens. Racy transitions are single conditional updates.
//
// The statements of a rotation (findByDigest, then rotateIfActive) are hand-written SQL run beneath
// Prisma's client (direct-sql.ts; every value is a bound parameter): the token, its family and the
// user's enabled flag come back in one joined row, and the old token's consumption and its
// successor's insert are one transaction. Against the same statements through Prisma's $queryRaw and
// $executeRaw, a rotation went from ~1.8 to ~1.2 ms of server CPU on SQLite and from ~2.8 to ~1.5 ms
// on PostgreSQL (bench/run.mjs, "refresh rotations", same hour). Everything else here uses Prisma.
// The SQL is written once for both providers: double-quoted identifiers, nothing provider-only, except
// PostgreSQL's one-statement rotation (rotateIfActive).
import { sqltag as sql } from "@prisma/client/runtime/client";
import { asDate, asFlag, type DirectSql } from "./direct-sql.js";
import { directSqlOf, type Db } from "./prisma.js";

export type RefreshFamilyRecord = {
  id: string;
  clientId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** started by /login: may rotate at /refresh, without client authentication */
  viaLogin: boolean;
  /** the family's user exists and is enabled (read with the token: rotation needs no user query) */
  userEnabled: boolean;
};

/** A family as an administrator sees it (see unrevokedFamiliesOfUser). */
export type FamilySummary = Pick<RefreshFamilyRecord, "id" | "clientId" | "userId" | "createdAt" | "expiresAt"> & {
  clientName: string;
  lastUsedAt: Date;
  newestTokenExpiresAt: Date;
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

/** One row of findByDigest's join, as the driver returns it (see asDate, asFlag). */
type TokenRow = {
  digest: string;
  familyId: string;
  scope: string;
  audience: string;
  issuedAt: unknown;
  expiresAt: unknown;
  usedAt: unknown;
  accessTokenJti: string;
  accessTokenExpiresAt: unknown;
  clientId: string;
  userId: string;
  familyCreatedAt: unknown;
  familyExpiresAt: unknown;
  familyRevokedAt: unknown;
  viaLogin: unknown;
  /** null when the user row is gone (the foreign key cascades, so only in a race with its deletion) */
  userEnabled: unknown;
};

const orNull = (value: unknown): Date | null => (value === null ? null : asDate(value));

const toRecord = (r: TokenRow): RefreshTokenRecord => ({
  digest: r.digest,
  familyId: r.familyId,
  scope: split(r.scope),
  audience: split(r.audience),
  issuedAt: asDate(r.issuedAt),
  expiresAt: asDate(r.expiresAt),
  usedAt: orNull(r.usedAt),
  accessTokenJti: r.accessTokenJti,
  accessTokenExpiresAt: asDate(r.accessTokenExpiresAt),
  family: {
    id: r.familyId,
    clientId: r.clientId,
    userId: r.userId,
    createdAt: asDate(r.familyCreatedAt),
    expiresAt: asDate(r.familyExpiresAt),
    revokedAt: orNull(r.familyRevokedAt),
    viaLogin: asFlag(r.viaLogin),
    userEnabled: asFlag(r.userEnabled),
  },
});

/**
 * Marks the token used if it is unused and unexpired and its family is alive. One statement: of any
 * number of concurrent runs exactly one matches, since PostgreSQL re-checks the WHERE clause of an
 * UPDATE against a row that a concurrent transaction changed (SQLite writes one at a time).
 */
const consume = (digest: string, now: Date) => sql`
  UPDATE "RefreshToken" SET "usedAt" = ${now}
  WHERE "digest" = ${digest} AND "usedAt" IS NULL AND "expiresAt" > ${now}
    AND EXISTS (SELECT 1 FROM "RefreshFamily" f
                WHERE f."id" = "RefreshToken"."familyId" AND f."revokedAt" IS NULL AND f."expiresAt" > ${now})`;

/** The columns a new token is inserted with, in the order of toRow's values below. */
const TOKEN_COLUMNS = sql`("digest", "familyId", "scope", "audience", "issuedAt", "expiresAt", "accessTokenJti", "accessTokenExpiresAt")`;

export class RefreshTokenRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  async startFamily(family: Omit<RefreshFamilyRecord, "revokedAt" | "userEnabled">, first: NewRefreshToken): Promise<void> {
    await this.#db.$transaction([
      this.#db.refreshFamily.create({ data: family }),
      this.#db.refreshToken.create({ data: toRow(first) }),
    ]);
  }

  /** The token with its family and whether the family's user may still use it; null when unknown. */
  async findByDigest(digest: string): Promise<RefreshTokenRecord | null> {
    const rows = await this.#direct.rows<TokenRow>(sql`
      SELECT t."digest", t."familyId", t."scope", t."audience", t."issuedAt", t."expiresAt", t."usedAt",
             t."accessTokenJti", t."accessTokenExpiresAt", f."clientId", f."userId",
             f."createdAt" AS "familyCreatedAt", f."expiresAt" AS "familyExpiresAt",
             f."revokedAt" AS "familyRevokedAt", f."viaLogin", u."enabled" AS "userEnabled"
      FROM "RefreshToken" t
      JOIN "RefreshFamily" f ON f."id" = t."familyId"
      LEFT JOIN "User" u ON u."id" = f."userId"
      WHERE t."digest" = ${digest}`);
    const row = rows[0];
    return row ? toRecord(row) : null;
  }

  /**
   * Consumes `digest` (see consume) and, only if that succeeded, stores its successor in the same
   * family. Of any number of concurrent callers exactly one gets true; false: a concurrent rotation
   * won, or the token is no longer active, and nothing is written.
   */
  async rotateIfActive(digest: string, now: Date, successor: NewRefreshToken): Promise<boolean> {
    const r = toRow(successor);
    const direct = this.#direct;
    if (direct.provider === "sqlite") {
      // SQLite cannot update inside a WITH clause: two statements in one transaction, the insert only
      // when the consume matched. Synchronous, so no other statement runs between them.
      const insert = sql`
        INSERT INTO "RefreshToken" ${TOKEN_COLUMNS}
        VALUES (${r.digest}, ${r.familyId}, ${r.scope}, ${r.audience}, ${r.issuedAt}, ${r.expiresAt}, ${r.accessTokenJti}, ${r.accessTokenExpiresAt})`;
      return direct.transaction((changes) => changes(consume(digest, now)) === 1 && changes(insert) === 1);
    }
    // PostgreSQL: one statement, one round trip and one commit. The INSERT takes the family from the
    // row the UPDATE consumed, so it inserts nothing when the UPDATE matched nothing.
    const inserted = await direct.changes(sql`
      WITH consumed AS (${consume(digest, now)} RETURNING "familyId")
      INSERT INTO "RefreshToken" ${TOKEN_COLUMNS}
      SELECT ${r.digest}, "familyId", ${r.scope}, ${r.audience}, ${r.issuedAt}, ${r.expiresAt}, ${r.accessTokenJti}, ${r.accessTokenExpiresAt}
      FROM consumed`);
    return inserted === 1;
  }

  /**
   * The user's families that are not revoked (live or past their expiry but not yet pruned), oldest
   * first, each with its client's name and its newest token: when it was issued (the family's last
   * use: its sign-in or latest rotation) and when it expires unless used (the idle lifetime).
   */
  async unrevokedFamiliesOfUser(userId: string): Promise<FamilySummary[]> {
    const rows = await this.#db.refreshFamily.findMany({
      where: { userId, revokedAt: null },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: {
        id: true,
        clientId: true,
        userId: true,
        createdAt: true,
        expiresAt: true,
        client: { select: { name: true } },
        tokens: { orderBy: { issuedAt: "desc" }, take: 1, select: { issuedAt: true, expiresAt: true } },
      },
    });
    return rows.map(({ client, tokens, ...family }) => ({
      ...family,
      clientName: client.name,
      lastUsedAt: tokens[0]?.issuedAt ?? family.createdAt,
      newestTokenExpiresAt: tokens[0]?.expiresAt ?? family.createdAt,
    }));
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
