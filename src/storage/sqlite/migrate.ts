// Migrations on SQLite (migrate.ts): all pending ones in one transaction, foreign keys checked before
// it commits.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { pending, type Migration, type MigrationRow } from "../migrate.js";

const TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`;

const now = () => new Date().toISOString().replace("Z", "+00:00");

export async function applyPending(url: string, all: Migration[]): Promise<string[]> {
  const applied: string[] = [];
  const file = url.replace(/^file:/, "");
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file, { timeout: 30_000 });
  try {
    db.exec(TABLE);
    // SQLite's recipe for schema changes: foreign keys off *outside* the transaction
    // (inside one, the PRAGMA lines of Prisma's RedefineTables scripts are no-ops and
    // DROP TABLE would cascade into child rows), check them before commit.
    db.pragma("foreign_keys = OFF");
    db.exec("BEGIN IMMEDIATE"); // one writer; a second process waits (busy timeout)
    try {
      for (const m of pending(all, db.prepare(`SELECT * FROM "_prisma_migrations"`).all() as MigrationRow[])) {
        db.exec(m.sql);
        db.prepare(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
          VALUES (?, ?, ?, ?, ?, 1)`).run(crypto.randomUUID(), m.checksum, m.name, now(), now());
        applied.push(m.name);
      }
      const broken = db.pragma("foreign_key_check") as unknown[];
      if (broken.length) throw new Error(`foreign key violations after migration: ${JSON.stringify(broken.slice(0, 5))}`);
      db.exec("COMMIT");
    } catch (e) { db.exec("ROLLBACK"); throw e; }
    finally { db.pragma("foreign_keys = ON"); }
  } finally { db.close(); }
  return applied;
}
