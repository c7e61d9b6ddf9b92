// Browser sessions (the tessera_session cookie): stored only by the SHA-256 digest of the cookie value.
// findByDigest, read on every /authorize, is one hand-written statement (direct-sql.ts) that brings
// the session's user along, and on /authorize the user's grant to the client: the code flow's
// redirect needs all three, and Prisma's client would cost three queries and about twice the CPU
// (bench/run.mjs, "code flows"). Everything else uses Prisma.
import { sqltag as sql } from "@prisma/client/runtime/client";
import { asDate, asFlag, type DirectSql } from "./direct-sql.js";
import { grantOfRow, type GrantRecord } from "./grants.js";
import { directSqlOf, type Db } from "./prisma.js";

export type BrowserSessionRecord = {
  id: string;
  digest: string;
  userId: string;
  authTime: Date;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
};

/** The session's user as read with it (no password hash). */
export type SessionUserRecord = {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
};

export type BrowserSessionWithUser = BrowserSessionRecord & { user: SessionUserRecord };

/** The session with the user's grant to one client (revoked or not; null when there is none). */
export type BrowserSessionWithGrant = BrowserSessionWithUser & { grant: GrantRecord | null };

/** One row of findByDigest's join, as the driver returns it (see asDate, asFlag). */
type SessionRow = {
  id: string;
  digest: string;
  userId: string;
  authTime: unknown;
  createdAt: unknown;
  lastSeenAt: unknown;
  expiresAt: unknown;
  endedAt: unknown;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: unknown;
  enabled: unknown;
  userCreatedAt: unknown;
  userUpdatedAt: unknown;
};

/** The grant's columns of findByDigestWithGrant's row: all null when the user has no grant to the client. */
type GrantColumns = {
  grantId: string | null;
  grantScope: string;
  grantAudience: string;
  grantCreatedAt: unknown;
  grantUpdatedAt: unknown;
  grantRevokedAt: unknown;
};

const SESSION_COLUMNS = sql`
  s."id", s."digest", s."userId", s."authTime", s."createdAt", s."lastSeenAt", s."expiresAt", s."endedAt",
  u."username", u."name", u."email", u."emailVerified", u."enabled", u."createdAt" AS "userCreatedAt", u."updatedAt" AS "userUpdatedAt"`;

const toRecord = (r: SessionRow): BrowserSessionWithUser => ({
  id: r.id,
  digest: r.digest,
  userId: r.userId,
  authTime: asDate(r.authTime),
  createdAt: asDate(r.createdAt),
  lastSeenAt: asDate(r.lastSeenAt),
  expiresAt: asDate(r.expiresAt),
  endedAt: r.endedAt === null ? null : asDate(r.endedAt),
  user: {
    id: r.userId,
    username: r.username,
    name: r.name,
    email: r.email,
    emailVerified: asFlag(r.emailVerified),
    enabled: asFlag(r.enabled),
    createdAt: asDate(r.userCreatedAt),
    updatedAt: asDate(r.userUpdatedAt),
  },
});

export class BrowserSessionRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  async create(session: Omit<BrowserSessionRecord, "endedAt">): Promise<BrowserSessionRecord> {
    return this.#db.browserSession.create({ data: session });
  }

  /** The session, whatever its state, with its user; null when unknown (a user's deletion takes its sessions). */
  async findByDigest(digest: string): Promise<BrowserSessionWithUser | null> {
    const rows = await this.#direct.rows<SessionRow>(sql`
      SELECT ${SESSION_COLUMNS}
      FROM "BrowserSession" s
      JOIN "User" u ON u."id" = s."userId"
      WHERE s."digest" = ${digest}`);
    const row = rows[0];
    return row ? toRecord(row) : null;
  }

  /** findByDigest with the user's grant to `clientId` in the same statement (/authorize reads both). */
  async findByDigestWithGrant(digest: string, clientId: string): Promise<BrowserSessionWithGrant | null> {
    const rows = await this.#direct.rows<SessionRow & GrantColumns>(sql`
      SELECT ${SESSION_COLUMNS},
             g."id" AS "grantId", g."scope" AS "grantScope", g."audience" AS "grantAudience", g."createdAt" AS "grantCreatedAt",
             g."updatedAt" AS "grantUpdatedAt", g."revokedAt" AS "grantRevokedAt"
      FROM "BrowserSession" s
      JOIN "User" u ON u."id" = s."userId"
      LEFT JOIN "Grant" g ON g."userId" = s."userId" AND g."clientId" = ${clientId}
      WHERE s."digest" = ${digest}`);
    const row = rows[0];
    if (!row) return null;
    const grant =
      row.grantId === null
        ? null
        : grantOfRow({ id: row.grantId, userId: row.userId, clientId, scope: row.grantScope, audience: row.grantAudience, createdAt: row.grantCreatedAt, updatedAt: row.grantUpdatedAt, revokedAt: row.grantRevokedAt });
    return { ...toRecord(row), grant };
  }

  /** Moves lastSeenAt forward (never back: another instance may have moved it further). */
  async touch(id: string, at: Date): Promise<void> {
    await this.#db.browserSession.updateMany({ where: { id, lastSeenAt: { lt: at } }, data: { lastSeenAt: at } });
  }

  /** false when the session was already ended (or is gone). */
  async endIfActive(id: string, at: Date): Promise<boolean> {
    const { count } = await this.#db.browserSession.updateMany({ where: { id, endedAt: null }, data: { endedAt: at } });
    return count === 1;
  }

  /** Ends every live session of the user; returns how many it ended. */
  async endUserSessions(userId: string, at: Date): Promise<number> {
    const { count } = await this.#db.browserSession.updateMany({ where: { userId, endedAt: null }, data: { endedAt: at } });
    return count;
  }

  /** The user's sessions not ended and not past their absolute lifetime, oldest first. */
  listOpenOfUser(userId: string, now: Date): Promise<BrowserSessionRecord[]> {
    return this.#db.browserSession.findMany({ where: { userId, endedAt: null, expiresAt: { gt: now } }, orderBy: { createdAt: "asc" } });
  }
}
