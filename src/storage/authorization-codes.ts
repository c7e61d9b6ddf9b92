// Authorization codes, known only by their SHA-256 digest. The exchange is one transaction of
// hand-written statements (direct-sql.ts, as a refresh rotation): the conditional consumption of the
// code, which records what it issues, and the insert of the refresh family that comes with it. A
// second exchange thus always finds what the first one issued, and can revoke it. The code's insert
// (/authorize) and its read (/token) are hand-written statements too: each flow runs them once, and
// Prisma's client cost several times their CPU (bench/run.mjs, "code flows").
import { sqltag as sql, type Sql } from "@prisma/client/runtime/client";
import { asDate, asFlag, isForeignKeyCode, type DirectSql } from "./direct-sql.js";
import { directSqlOf, type Db } from "./prisma.js";
import { insertFamilyStatement, insertTokenStatement, type NewRefreshFamily, type NewRefreshToken } from "./refresh-tokens.js";
import { BUMP_STATUS_LISTS } from "./status-lists.js";

export type NewAuthorizationCode = {
  digest: string;
  clientId: string;
  userId: string;
  grantId: string;
  sessionId: string;
  /** the effective redirect URI */
  redirectUri: string;
  /** the authorization request named it: the token request must repeat it */
  redirectUriSent: boolean;
  codeChallenge: string;
  scope: string[];
  audience: string[];
  nonce: string | null;
  /** RFC 9449 §10: the JWK thumbprint of the DPoP key the exchange must prove; null: not bound */
  dpopJkt: string | null;
  authTime: Date;
  issuedAt: Date;
  expiresAt: Date;
};

export type AuthorizationCodeRecord = NewAuthorizationCode & {
  usedAt: Date | null;
  /** what the exchange issued: its refresh family, or null when the client gets no refresh token */
  familyId: string | null;
  accessTokenJti: string | null;
  accessTokenExpiresAt: Date | null;
  /** the access token's status-list entry; null when STATUS_LIST was off */
  accessTokenStatus: number | null;
  /** the code's user exists and is enabled */
  userEnabled: boolean;
};

/** What an exchange issues, recorded on the code as it is consumed. */
export type Issued = {
  accessTokenJti: string;
  accessTokenExpiresAt: Date;
  accessTokenStatus: number | null;
  /** the refresh family it starts, with its first token; none when the client may not refresh */
  family: { record: NewRefreshFamily; first: NewRefreshToken } | null;
};

const split = (list: string): string[] => (list === "" ? [] : list.split(" "));
const orNull = (value: unknown): Date | null => (value === null ? null : asDate(value));

/** One row of findByDigest's join, as the driver returns it (see asDate, asFlag). */
type CodeRow = {
  digest: string;
  clientId: string;
  userId: string;
  grantId: string;
  sessionId: string;
  redirectUri: string;
  redirectUriSent: unknown;
  codeChallenge: string;
  scope: string;
  audience: string;
  nonce: string | null;
  dpopJkt: string | null;
  authTime: unknown;
  issuedAt: unknown;
  expiresAt: unknown;
  usedAt: unknown;
  familyId: string | null;
  accessTokenJti: string | null;
  accessTokenExpiresAt: unknown;
  /** a number, or a bigint from SQLite; null when none was recorded */
  accessTokenStatus: unknown;
  /** null when the user row is gone (the foreign key cascades, so only in a race with its deletion) */
  userEnabled: unknown;
};

const toRecord = (r: CodeRow): AuthorizationCodeRecord => ({
  digest: r.digest,
  clientId: r.clientId,
  userId: r.userId,
  grantId: r.grantId,
  sessionId: r.sessionId,
  redirectUri: r.redirectUri,
  redirectUriSent: asFlag(r.redirectUriSent),
  codeChallenge: r.codeChallenge,
  scope: split(r.scope),
  audience: split(r.audience),
  nonce: r.nonce,
  dpopJkt: r.dpopJkt,
  authTime: asDate(r.authTime),
  issuedAt: asDate(r.issuedAt),
  expiresAt: asDate(r.expiresAt),
  usedAt: orNull(r.usedAt),
  familyId: r.familyId,
  accessTokenJti: r.accessTokenJti,
  accessTokenExpiresAt: orNull(r.accessTokenExpiresAt),
  accessTokenStatus: r.accessTokenStatus === null ? null : Number(r.accessTokenStatus),
  userEnabled: asFlag(r.userEnabled),
});

/**
 * Consumes the code if it is unused, unexpired and its grant is live, and records what it issues.
 * One statement: of any number of concurrent runs exactly one matches (PostgreSQL re-checks the WHERE
 * clause against a row a concurrent transaction changed; SQLite writes one at a time). On PostgreSQL
 * the grant row is read FOR SHARE, so a revocation of the grant waits for this exchange to commit and
 * then finds its family (consent.ts).
 */
const consumeStatement = (direct: DirectSql, digest: string, grantId: string, now: Date, issued: Issued) => sql`
  UPDATE "AuthorizationCode" SET "usedAt" = ${now}, "familyId" = ${issued.family?.record.id ?? null}, "accessTokenJti" = ${issued.accessTokenJti},
                                 "accessTokenExpiresAt" = ${issued.accessTokenExpiresAt}, "accessTokenStatus" = ${issued.accessTokenStatus}
  WHERE "digest" = ${digest} AND "usedAt" IS NULL AND "expiresAt" > ${now}
    AND "grantId" IN (SELECT g."id" FROM "Grant" g WHERE g."id" = ${grantId} AND g."revokedAt" IS NULL ${direct.forShare})`;

export class AuthorizationCodeRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  /** false when the client, user or grant named no longer exists (deleted meanwhile), and nothing is written. */
  async insert(code: NewAuthorizationCode): Promise<boolean> {
    try {
      const inserted = await this.#direct.changes(sql`
        INSERT INTO "AuthorizationCode" ("digest", "clientId", "userId", "grantId", "sessionId", "redirectUri", "redirectUriSent",
                                         "codeChallenge", "scope", "audience", "nonce", "dpopJkt", "authTime", "issuedAt", "expiresAt")
        VALUES (${code.digest}, ${code.clientId}, ${code.userId}, ${code.grantId}, ${code.sessionId}, ${code.redirectUri}, ${code.redirectUriSent},
                ${code.codeChallenge}, ${code.scope.join(" ")}, ${code.audience.join(" ")}, ${code.nonce}, ${code.dpopJkt}, ${code.authTime}, ${code.issuedAt}, ${code.expiresAt})`);
      return inserted === 1;
    } catch (e) {
      if (isForeignKeyCode(e)) return false;
      throw e;
    }
  }

  /** The code, whatever its state, with whether its user may still use it; null when unknown. */
  async findByDigest(digest: string): Promise<AuthorizationCodeRecord | null> {
    const rows = await this.#direct.rows<CodeRow>(sql`
      SELECT c."digest", c."clientId", c."userId", c."grantId", c."sessionId", c."redirectUri", c."redirectUriSent", c."codeChallenge",
             c."scope", c."audience", c."nonce", c."dpopJkt", c."authTime", c."issuedAt", c."expiresAt", c."usedAt", c."familyId",
             c."accessTokenJti", c."accessTokenExpiresAt", c."accessTokenStatus", u."enabled" AS "userEnabled"
      FROM "AuthorizationCode" c
      LEFT JOIN "User" u ON u."id" = c."userId"
      WHERE c."digest" = ${digest}`);
    const row = rows[0];
    return row ? toRecord(row) : null;
  }

  /**
   * Consumes the code and stores the family it starts, in one transaction (see consumeStatement).
   * false, and nothing written, when the code was used (by a concurrent exchange too), expired or its
   * grant was revoked; also when the family's client or user was deleted meanwhile.
   */
  async exchange(code: Pick<AuthorizationCodeRecord, "digest" | "grantId">, now: Date, issued: Issued): Promise<boolean> {
    const direct = this.#direct;
    const consume = consumeStatement(direct, code.digest, code.grantId, now, issued);
    // Without a family the consumption is the only write, atomic by itself: no transaction around it
    // (on PostgreSQL one round trip instead of BEGIN, UPDATE and COMMIT).
    const run = !issued.family
      ? direct.changes(consume).then((changed) => changed === 1)
      : direct
          .transaction([consume, insertFamilyStatement(issued.family.record), insertTokenStatement(issued.family.first)].map((write) => ({ write, expect: 1 })))
          .then((done) => done !== null);
    return run.catch((error: unknown) => {
      // The family's client or user was deleted between the code's read and this write.
      if (isForeignKeyCode(error)) return false;
      throw error;
    });
  }

  /**
   * Blocklists the still-living access tokens that the grant's codes issued (those of codes that
   * started a family are blocklisted with it already, and keep their entry). Returns how many it added.
   */
  blocklistAccessTokensOfGrant(grantId: string, now: Date): Promise<number> {
    return this.#blocklistAccessTokensWhere(sql`c."grantId" = ${grantId}`, now);
  }

  /** The same for the codes issued in a browser session (RP-initiated logout ends what it issued). */
  blocklistAccessTokensOfSession(sessionId: string, now: Date): Promise<number> {
    return this.#blocklistAccessTokensWhere(sql`c."sessionId" = ${sessionId}`, now);
  }

  async #blocklistAccessTokensWhere(codes: Sql, now: Date): Promise<number> {
    // With each token's status-list entry, and the lists' counter bumped in the same transaction.
    const blocklist = sql`
      INSERT INTO "RevokedAccessToken" ("jti", "clientId", "expiresAt", "revokedAt", "status")
      SELECT c."accessTokenJti", c."clientId", c."accessTokenExpiresAt", ${now}, c."accessTokenStatus"
      FROM "AuthorizationCode" c
      WHERE ${codes} AND c."accessTokenJti" IS NOT NULL AND c."accessTokenExpiresAt" > ${now}
      ON CONFLICT ("jti") DO NOTHING`;
    const [added] = (await this.#direct.transaction([{ write: blocklist }, { write: BUMP_STATUS_LISTS }]))!;
    return added!;
  }

  /**
   * Deletes codes that can no longer matter: expired before `expiredBefore` (kept that long so that a
   * late replay is still recognised and revokes what the code issued) and whose access token has expired
   * (with access tokens of at most a day and codes kept a day, the first condition implies the second;
   * the second keeps the blocklisting of a grant revocation right if either ever changes).
   */
  async pruneDead(now: Date, expiredBefore: Date): Promise<number> {
    const { count } = await this.#db.authorizationCode.deleteMany({
      where: { expiresAt: { lte: expiredBefore }, OR: [{ accessTokenExpiresAt: null }, { accessTokenExpiresAt: { lte: now } }] },
    });
    return count;
  }
}
