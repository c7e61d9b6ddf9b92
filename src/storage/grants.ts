// Grants: what a user let a client do (remembered consent), one row per user and client.
// Nothing caches them, so no cache version is bumped. findByUserAndClient, read on every /authorize,
// is a hand-written statement (direct-sql.ts: Prisma's client costs several times its CPU); the rest
// uses Prisma.
import { sqltag as sql } from "@prisma/client/runtime/client";
import { randomUUID } from "node:crypto";
import { asDate, type DirectSql } from "./direct-sql.js";
import { directSqlOf, isUniqueViolation, type Db } from "./prisma.js";

export type GrantRecord = {
  id: string;
  userId: string;
  clientId: string;
  scope: string[];
  audience: string[];
  createdAt: Date;
  updatedAt: Date;
  /** set when the grant was revoked (tessera grants revoke); a revoked grant covers nothing */
  revokedAt: Date | null;
};

/** A grant as an administrator sees it: with its client's name. */
export type GrantSummary = GrantRecord & { clientName: string };

export type ConsentInput = { userId: string; clientId: string; scope: string[]; audience: string[] };

type Row = Awaited<ReturnType<Db["grant"]["findFirstOrThrow"]>>;

/** A grant row as the driver returns it (see asDate). */
type DirectRow = Omit<Row, "createdAt" | "updatedAt" | "revokedAt"> & { createdAt: unknown; updatedAt: unknown; revokedAt: unknown };
const fromDirect = (r: DirectRow): Row => ({
  ...r,
  createdAt: asDate(r.createdAt),
  updatedAt: asDate(r.updatedAt),
  revokedAt: r.revokedAt === null ? null : asDate(r.revokedAt),
});

const split = (list: string): string[] => (list === "" ? [] : list.split(" "));
const toRecord = (row: Row): GrantRecord => ({ ...row, scope: split(row.scope), audience: split(row.audience) });

/** A grant read by a hand-written statement of another repository (browser-sessions.ts). */
export const grantOfRow = (row: DirectRow): GrantRecord => toRecord(fromDirect(row));
const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])];

// A concurrent consent for the same user and client changed the row between our read and write:
// read again. Two in a row would take two more concurrent consents by one user for one client.
const MAX_ATTEMPTS = 5;

export class GrantRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  /** The user's grant to the client, revoked or not; null when there never was one (or it was pruned). */
  async findByUserAndClient(userId: string, clientId: string): Promise<GrantRecord | null> {
    const rows = await this.#direct.rows<DirectRow>(sql`
      SELECT "id", "userId", "clientId", "scope", "audience", "createdAt", "updatedAt", "revokedAt"
      FROM "Grant" WHERE "userId" = ${userId} AND "clientId" = ${clientId}`);
    const row = rows[0];
    return row ? grantOfRow(row) : null;
  }

  async findById(id: string): Promise<GrantRecord | null> {
    const row = await this.#db.grant.findUnique({ where: { id } });
    return row && toRecord(row);
  }

  /**
   * Records consent: creates the grant, or widens it to the union of what it held (unless it was
   * revoked: then it holds only what is consented to now) and what is consented to now, and un-revokes
   * it. A grant revoked and then consented to again keeps its id. Each write is conditional on the row
   * read (updatedAt), so a concurrent consent is never lost.
   */
  async recordConsent(consent: ConsentInput, now: Date): Promise<GrantRecord> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.findByUserAndClient(consent.userId, consent.clientId);
      try {
        if (!current) {
          const row = await this.#db.grant.create({
            data: {
              id: randomUUID(),
              userId: consent.userId,
              clientId: consent.clientId,
              scope: consent.scope.join(" "),
              audience: consent.audience.join(" "),
              createdAt: now,
              updatedAt: now,
            },
          });
          return toRecord(row);
        }
        const live = current.revokedAt === null;
        const scope = live ? union(current.scope, consent.scope) : [...new Set(consent.scope)];
        const audience = live ? union(current.audience, consent.audience) : [...new Set(consent.audience)];
        // updatedAt only moves forward: a clock that went back must not make the condition ambiguous.
        const updatedAt = now > current.updatedAt ? now : new Date(current.updatedAt.getTime() + 1);
        const { count } = await this.#db.grant.updateMany({
          where: { id: current.id, updatedAt: current.updatedAt },
          data: { scope: scope.join(" "), audience: audience.join(" "), updatedAt, revokedAt: null },
        });
        if (count === 1) return { ...current, scope, audience, updatedAt, revokedAt: null };
      } catch (e) {
        if (!isUniqueViolation(e)) throw e; // another consent created the row first: read it again
      }
      // Coverage: each failed attempt means another consent for this user and client committed in
      // between, so this needs MAX_ATTEMPTS writers winning in lockstep; no test can arrange that. The
      // span takes in the closing braces, which V8 counts as one block with the throw.
      /* c8 ignore start */
      if (attempt >= MAX_ATTEMPTS) throw new Error("grant: too many concurrent consents for one user and client");
    }
  }
  /* c8 ignore stop */

  /** The user's grants that are not revoked, oldest first, with their client's name. */
  async liveGrantsOfUser(userId: string): Promise<GrantSummary[]> {
    const rows = await this.#db.grant.findMany({
      where: { userId, revokedAt: null },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { client: { select: { name: true } } },
    });
    return rows.map(({ client, ...row }) => ({ ...toRecord(row), clientName: client.name }));
  }

  /** Marks the grant revoked; false when it was revoked already (or does not exist). */
  async revoke(id: string, now: Date): Promise<boolean> {
    const { count } = await this.#db.grant.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now, updatedAt: now } });
    return count === 1;
  }
}
