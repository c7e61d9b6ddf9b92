// Refresh-token families and tokens. Racy transitions are single conditional updates.
//
// The statements of a rotation (findByDigest, then rotateIfActive) are hand-written SQL run beneath
// Prisma's client (direct-sql.ts; every value is a bound parameter): the token, its family and the
// user's enabled flag come back in one joined row, and the old token's consumption and its
// successor's insert are one transaction. Against the same statements through Prisma's $queryRaw and
// $executeRaw, a rotation went from ~1.8 to ~1.2 ms of server CPU on SQLite and from ~2.8 to ~1.5 ms
// on PostgreSQL (bench/run.mjs, "refresh rotations", same hour). Everything else here uses Prisma.
// The SQL is written once for both providers: double-quoted identifiers, and what differs (a row lock,
// how a transaction runs, the rotation's insert after its update) behind DirectSql.
import { sqltag as sql, type Sql } from "@prisma/client/runtime/client";
import { asDate, asFlag, type DirectSql } from "./direct-sql.js";
import { directSqlOf, isForeignKeyViolation, type Db } from "./prisma.js";
import { BUMP_STATUS_LISTS } from "./status-lists.js";

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
  /** the browser session an authorization code signed in with (the ID token's sid); null otherwise */
  sessionId: string | null;
  /** when that sign-in authenticated (the ID token's auth_time); null otherwise and before 0012 */
  authTime: Date | null;
  /** RFC 9449: the DPoP key (JWK thumbprint) a public client's family is bound to; null: not bound */
  dpopJkt: string | null;
};

/** A new family: started by /login, the password grant or an authorization code (grantId, sessionId, authTime). */
export type NewRefreshFamily = Omit<RefreshFamilyRecord, "revokedAt" | "userEnabled"> & { grantId: string | null };

export type NewRefreshToken = {
  digest: string;
  familyId: string;
  scope: string[];
  audience: string[];
  issuedAt: Date;
  expiresAt: Date;
  accessTokenJti: string;
  accessTokenExpiresAt: Date;
  /** the access token's status-list entry (list × 2^20 + idx); null when STATUS_LIST is off */
  accessTokenStatus: number | null;
};

export type RefreshTokenRecord = NewRefreshToken & {
  usedAt: Date | null;
  /** the token that replaced this one when it was rotated; null while unused (and for tokens rotated before 0008) */
  successorDigest: string | null;
  family: RefreshFamilyRecord;
};

/** What a family revocation did: whether this call revoked it, and how many access tokens it blocklisted. */
export type FamilyRevocation = { revoked: boolean; accessTokensRevoked: number };

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
  successorDigest: string | null;
  accessTokenJti: string;
  accessTokenExpiresAt: unknown;
  /** a number, or a bigint from SQLite; null when none was recorded */
  accessTokenStatus: unknown;
  clientId: string;
  userId: string;
  familyCreatedAt: unknown;
  familyExpiresAt: unknown;
  familyRevokedAt: unknown;
  viaLogin: unknown;
  sessionId: string | null;
  authTime: unknown;
  dpopJkt: string | null;
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
  successorDigest: r.successorDigest,
  accessTokenJti: r.accessTokenJti,
  accessTokenExpiresAt: asDate(r.accessTokenExpiresAt),
  accessTokenStatus: r.accessTokenStatus === null ? null : Number(r.accessTokenStatus),
  family: {
    id: r.familyId,
    clientId: r.clientId,
    userId: r.userId,
    createdAt: asDate(r.familyCreatedAt),
    expiresAt: asDate(r.familyExpiresAt),
    revokedAt: orNull(r.familyRevokedAt),
    viaLogin: asFlag(r.viaLogin),
    userEnabled: asFlag(r.userEnabled),
    sessionId: r.sessionId,
    authTime: orNull(r.authTime),
    dpopJkt: r.dpopJkt,
  },
});

/**
 * Marks the token used, and replaced by `successorDigest`, if it is unused and unexpired and its family
 * is alive. One statement: of any number of concurrent runs exactly one matches, since PostgreSQL
 * re-checks the WHERE clause of an UPDATE against a row that a concurrent transaction changed (SQLite
 * writes one at a time).
 *
 * On PostgreSQL the family row is read FOR SHARE (DirectSql.forShare): a revocation (which updates
 * that row) waits until this rotation has committed, and then blocklists its successor's access token
 * too; a rotation that comes after a revocation committed sees the revoked row, even when its snapshot
 * is older (READ COMMITTED re-reads a locked row that changed). A plain read of the family would use the statement's
 * snapshot, and could add a successor to a family whose revocation had just listed its access tokens.
 */
const consumeStatement = (direct: DirectSql, digest: string, familyId: string, now: Date, successorDigest: string | null) => sql`
  UPDATE "RefreshToken" SET "usedAt" = ${now}, "successorDigest" = ${successorDigest}
  WHERE "digest" = ${digest} AND "usedAt" IS NULL AND "expiresAt" > ${now}
    AND "familyId" IN (SELECT f."id" FROM "RefreshFamily" f
                       WHERE f."id" = ${familyId} AND f."revokedAt" IS NULL AND f."expiresAt" > ${now} ${direct.forShare})`;

/**
 * Blocklists the still-living access tokens issued with the refresh tokens that `where` selects (a
 * condition on t, the token, and f, its family); one that is blocklisted already keeps its entry.
 * Each row carries its token's status-list entry, so that the entry reads INVALID; every statement
 * that runs this also runs BUMP_STATUS_LISTS in its transaction, for the other instances.
 */
const blocklistAccessTokens = (where: Sql, now: Date) => sql`
  INSERT INTO "RevokedAccessToken" ("jti", "clientId", "expiresAt", "revokedAt", "status")
  SELECT t."accessTokenJti", f."clientId", t."accessTokenExpiresAt", ${now}, t."accessTokenStatus"
  FROM "RefreshToken" t JOIN "RefreshFamily" f ON f."id" = t."familyId"
  WHERE ${where} AND t."accessTokenExpiresAt" > ${now}
  ON CONFLICT ("jti") DO NOTHING`;

/** The columns a new token is inserted with, in the order of tokenValues. */
const TOKEN_COLUMNS = sql`("digest", "familyId", "scope", "audience", "issuedAt", "expiresAt", "accessTokenJti", "accessTokenExpiresAt", "accessTokenStatus")`;
const tokenValues = (token: NewRefreshToken) => {
  const r = toRow(token);
  return sql`${r.digest}, ${r.familyId}, ${r.scope}, ${r.audience}, ${r.issuedAt}, ${r.expiresAt}, ${r.accessTokenJti}, ${r.accessTokenExpiresAt}, ${r.accessTokenStatus}`;
};

/** The INSERT of a new token, for a transaction of another repository (authorization-codes.ts). */
export const insertTokenStatement = (token: NewRefreshToken) => sql`INSERT INTO "RefreshToken" ${TOKEN_COLUMNS} VALUES (${tokenValues(token)})`;

/** The INSERT of a new family, for a transaction of another repository (authorization-codes.ts). */
export const insertFamilyStatement = (f: NewRefreshFamily) => sql`
  INSERT INTO "RefreshFamily" ("id", "clientId", "userId", "createdAt", "expiresAt", "viaLogin", "grantId", "sessionId", "authTime", "dpopJkt")
  VALUES (${f.id}, ${f.clientId}, ${f.userId}, ${f.createdAt}, ${f.expiresAt}, ${f.viaLogin}, ${f.grantId}, ${f.sessionId}, ${f.authTime}, ${f.dpopJkt})`;

/** A family as an administrator sees it (see unrevokedFamiliesOfUser). */
export type FamilySummary = Pick<RefreshFamilyRecord, "id" | "clientId" | "userId" | "createdAt" | "expiresAt"> & {
  clientName: string;
  lastUsedAt: Date;
  newestTokenExpiresAt: Date;
};

export class RefreshTokenRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  /**
   * false when the family's client or user no longer exists (deleted since the caller read it: another
   * instance or the CLI deleted the client before this instance's registry reloaded), and nothing is
   * written.
   */
  async startFamily(family: NewRefreshFamily, first: NewRefreshToken): Promise<boolean> {
    try {
      await this.#db.$transaction([
        this.#db.refreshFamily.create({ data: family }),
        this.#db.refreshToken.create({ data: toRow(first) }),
      ]);
      return true;
    } catch (e) {
      if (isForeignKeyViolation(e)) return false;
      throw e;
    }
  }

  /** The token with its family and whether the family's user may still use it; null when unknown. */
  async findByDigest(digest: string): Promise<RefreshTokenRecord | null> {
    const rows = await this.#direct.rows<TokenRow>(sql`
      SELECT t."digest", t."familyId", t."scope", t."audience", t."issuedAt", t."expiresAt", t."usedAt", t."successorDigest",
             t."accessTokenJti", t."accessTokenExpiresAt", t."accessTokenStatus", f."clientId", f."userId",
             f."createdAt" AS "familyCreatedAt", f."expiresAt" AS "familyExpiresAt",
             f."revokedAt" AS "familyRevokedAt", f."viaLogin", f."sessionId", f."authTime", f."dpopJkt", u."enabled" AS "userEnabled"
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
    const direct = this.#direct;
    const consume = consumeStatement(direct, digest, successor.familyId, now, successor.digest);
    return direct.insertIfUpdated(consume, sql`"RefreshToken" ${TOKEN_COLUMNS}`, tokenValues(successor));
  }

  /**
   * The retry of a rotation (REFRESH_REUSE_GRACE): `rotated`'s successor, if it is still unused, is
   * consumed in its place and replaced by `replacement`, which becomes `rotated`'s successor; the
   * replaced successor's access token is blocklisted, so only the newest pair lives, and the replaced
   * token, presented later, is reuse (it names no successor, so no grace applies). One transaction,
   * with the same family check and lock as a rotation. false, and nothing written, when the successor
   * was used (or replaced) already, or the family is no longer alive.
   */
  async replaceUnusedSuccessor(rotated: Pick<RefreshTokenRecord, "digest" | "familyId" | "successorDigest">, now: Date, replacement: NewRefreshToken): Promise<boolean> {
    const replaced = rotated.successorDigest;
    if (replaced === null) return false;
    const direct = this.#direct;
    const done = await direct.transaction([
      // Used up with no successor: a replaced token never rotates again, whatever the grace.
      { write: consumeStatement(direct, replaced, rotated.familyId, now, null), expect: 1 },
      { write: insertTokenStatement(replacement), expect: 1 },
      { write: sql`UPDATE "RefreshToken" SET "successorDigest" = ${replacement.digest} WHERE "digest" = ${rotated.digest} AND "successorDigest" = ${replaced}`, expect: 1 },
      { write: blocklistAccessTokens(sql`t."digest" = ${replaced}`, now) },
      { write: BUMP_STATUS_LISTS },
    ]);
    return done !== null;
  }

  /**
   * Revokes the family and blocklists the access tokens issued from it that still live, in one
   * transaction: a failure leaves both undone. On PostgreSQL the UPDATE of the family row waits for
   * the rotations that hold it (see consume), and the blocklisting statement, which runs after it,
   * sees their successors. Run again on a revoked family it revokes nothing and blocklists whatever
   * is not blocklisted yet (a repair: families revoked before this was one transaction).
   */
  async revokeFamily(familyId: string, reason: string, now: Date): Promise<FamilyRevocation> {
    const revoke = sql`
      UPDATE "RefreshFamily" SET "revokedAt" = ${now}, "revokedReason" = ${reason}
      WHERE "id" = ${familyId} AND "revokedAt" IS NULL`;
    const blocklist = blocklistAccessTokens(sql`t."familyId" = ${familyId}`, now);
    const [revoked, accessTokensRevoked] = (await this.#direct.transaction([{ write: revoke }, { write: blocklist }, { write: BUMP_STATUS_LISTS }]))!;
    return { revoked: revoked === 1, accessTokensRevoked: accessTokensRevoked! };
  }

  /**
   * Revokes every family of the user and blocklists their live access tokens, as revokeFamily does
   * for one (a password change ends every session). `families` counts the families this call revoked.
   */
  revokeUserFamilies(userId: string, reason: string, now: Date): Promise<{ families: number; accessTokensRevoked: number }> {
    return this.#revokeFamiliesWhere(sql`"userId" = ${userId}`, sql`f."userId" = ${userId}`, reason, now);
  }

  /** Revokes every family started under the grant (remembered consent), as revokeUserFamilies does. */
  revokeGrantFamilies(grantId: string, reason: string, now: Date): Promise<{ families: number; accessTokensRevoked: number }> {
    return this.#revokeFamiliesWhere(sql`"grantId" = ${grantId}`, sql`f."grantId" = ${grantId}`, reason, now);
  }

  /** Revokes every family started in the browser session (RP-initiated logout), as revokeUserFamilies does. */
  revokeSessionFamilies(sessionId: string, reason: string, now: Date): Promise<{ families: number; accessTokensRevoked: number }> {
    return this.#revokeFamiliesWhere(sql`"sessionId" = ${sessionId}`, sql`f."sessionId" = ${sessionId}`, reason, now);
  }

  /** `families` on the family table; `joined` the same condition on f, the family, in blocklistAccessTokens. */
  async #revokeFamiliesWhere(families: Sql, joined: Sql, reason: string, now: Date): Promise<{ families: number; accessTokensRevoked: number }> {
    const revoke = sql`
      UPDATE "RefreshFamily" SET "revokedAt" = ${now}, "revokedReason" = ${reason}
      WHERE ${families} AND "revokedAt" IS NULL`;
    const blocklist = blocklistAccessTokens(joined, now);
    const [revoked, accessTokensRevoked] = (await this.#direct.transaction([
      // The rows locked in one order, so that two of these on the same families cannot deadlock.
      { lock: sql`SELECT "id" FROM "RefreshFamily" WHERE ${families} AND "revokedAt" IS NULL ORDER BY "id" FOR UPDATE` },
      { write: revoke },
      { write: blocklist },
      { write: BUMP_STATUS_LISTS },
    ]))!;
    return { families: revoked!, accessTokensRevoked: accessTokensRevoked! };
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
}
