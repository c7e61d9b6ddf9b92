// Pushed authorization requests (RFC 9126), known only by the SHA-256 digest of their request_uri's
// random part. Stored by POST /par, used once by /authorize: the use is one DELETE … RETURNING, so
// of any number of concurrent uses exactly one gets the parameters (PostgreSQL re-checks the WHERE
// clause of a row a concurrent transaction deleted and finds nothing; SQLite writes one at a time).
import { sqltag as sql } from "@prisma/client/runtime/client";
import { isForeignKeyCode, type DirectSql } from "./direct-sql.js";
import { directSqlOf, type Db } from "./prisma.js";

export type NewPushedAuthorizationRequest = {
  digest: string;
  clientId: string;
  /** the authorization request's parameters: each a string, resource possibly a list */
  parameters: Record<string, string | string[]>;
  expiresAt: Date;
};

export class PushedAuthorizationRequestRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  /** false, and nothing written, when the client was deleted meanwhile. */
  async insert(request: NewPushedAuthorizationRequest): Promise<boolean> {
    try {
      await this.#direct.changes(sql`
        INSERT INTO "PushedAuthorizationRequest" ("digest", "clientId", "parameters", "expiresAt")
        VALUES (${request.digest}, ${request.clientId}, ${JSON.stringify(request.parameters)}, ${request.expiresAt})`);
      return true;
    } catch (e) {
      if (isForeignKeyCode(e)) return false;
      throw e;
    }
  }

  /**
   * The parameters of the request `digest` pushed by `clientId`, deleting it; null when there is none
   * (never pushed, used already, or pushed by another client, whose request is left as it is) or it
   * expired at `now`.
   */
  async consumeIfActive(digest: string, clientId: string, now: Date): Promise<Record<string, string | string[]> | null> {
    const rows = await this.#direct.rows<{ parameters: string }>(sql`
      DELETE FROM "PushedAuthorizationRequest"
      WHERE "digest" = ${digest} AND "clientId" = ${clientId} AND "expiresAt" > ${now}
      RETURNING "parameters"`);
    const row = rows[0];
    return row ? (JSON.parse(row.parameters) as Record<string, string | string[]>) : null;
  }

  /** Requests that expired, used or not: nothing can use them any more. */
  async pruneExpired(now: Date): Promise<number> {
    const { count } = await this.#db.pushedAuthorizationRequest.deleteMany({ where: { expiresAt: { lte: now } } });
    return count;
  }
}
