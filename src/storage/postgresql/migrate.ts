// Migrations on PostgreSQL (migrate.ts): each in its own transaction, under the advisory lock that
// `prisma migrate deploy` takes, so that instances starting together apply each migration once.
import crypto from "node:crypto";
import pg from "pg";
import { pending, type Migration } from "../migrate.js";

const LOCK_KEY = 72707369; // the advisory lock key `prisma migrate deploy` uses

const TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`;

export async function applyPending(url: string, all: Migration[]): Promise<string[]> {
  const applied: string[] = [];
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`); // other instances wait here
    await client.query(TABLE);
    const { rows } = await client.query(`SELECT * FROM "_prisma_migrations"`);
    for (const m of pending(all, rows)) {
      await client.query("BEGIN");
      try {
        await client.query(m.sql); // whole file as one simple query
        await client.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
          VALUES ($1, $2, $3, now(), now(), 1)`, [crypto.randomUUID(), m.checksum, m.name]);
        await client.query("COMMIT");
      } catch (e) { await client.query("ROLLBACK"); throw new Error(`migration ${m.name}: ${(e as Error).message}`); }
      applied.push(m.name);
    }
  } finally { await client.end(); } // closing the session releases the advisory lock
  return applied;
}
