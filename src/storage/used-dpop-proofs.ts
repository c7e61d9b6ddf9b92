// DPoP proofs seen (RFC 9449 §11.1), by a digest of their key and jti, so that each is accepted once on
// any instance. Every DPoP request at /token writes here: one hand-written statement on the driver
// (direct-sql.ts), which costs a fraction of Prisma's create and its unique-violation exception.
import { sqltag as sql } from "@prisma/client/runtime/client";
import type { DirectSql } from "./direct-sql.js";
import { directSqlOf, type Db } from "./prisma.js";

export class UsedDpopProofRepository {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  /** true the first time `id` is presented; false for a replay (the primary key keeps the first). */
  async useOnce(id: string, expiresAt: Date): Promise<boolean> {
    const inserted = await this.#direct.changes(sql`
      INSERT INTO "UsedDpopProof" ("id", "expiresAt") VALUES (${id}, ${expiresAt})
      ON CONFLICT ("id") DO NOTHING`);
    return inserted === 1;
  }

  async pruneExpired(now: Date): Promise<number> {
    return (await this.#db.usedDpopProof.deleteMany({ where: { expiresAt: { lte: now } } })).count;
  }
}
