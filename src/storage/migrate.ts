// Applies prisma/migrations/<provider>/<NNNN_name>/migration.sql at startup, recording them in
// Prisma's own _prisma_migrations table, so `prisma migrate status|deploy` agree with it.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { providerOf } from "./prisma.js";

// prisma/ at the project root: two levels up from both src/storage/ and dist/storage/.
const PRISMA_ROOT = fileURLToPath(new URL("../../prisma", import.meta.url));
const LOCK_KEY = 72707369; // the advisory lock key `prisma migrate deploy` uses
const now = () => new Date().toISOString().replace("Z", "+00:00");

function readMigrations(dir: string) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name).sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") };
    });
}

type Row = { migration_name: string; checksum: string; finished_at: unknown; rolled_back_at: unknown };
function pending(all: ReturnType<typeof readMigrations>, rows: Row[]) {
  const failed = rows.find((r) => !r.finished_at && !r.rolled_back_at);
  if (failed) throw new Error(`migration ${failed.migration_name} failed earlier; resolve it first`);
  const done = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r.checksum]));
  for (const m of all) if (done.has(m.name) && done.get(m.name) !== m.checksum) console.warn(`migration ${m.name} was modified after it was applied`);
  return all.filter((m) => !done.has(m.name));
}

const PG_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`;
const SQLITE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`;

export async function applyMigrations(url: string, root = PRISMA_ROOT): Promise<string[]> {
  const provider = providerOf(url);
  const all = readMigrations(path.join(root, "migrations", provider));
  const applied: string[] = [];
  if (provider === "postgresql") {
    const { default: pg } = await import("pg"); // each driver only when used
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`); // other instances wait here
      await client.query(PG_TABLE);
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
  } else {
    const file = url.replace(/^file:/, "");
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(file, { timeout: 30_000 });
    try {
      db.exec(SQLITE_TABLE);
      // SQLite's recipe for schema changes: foreign keys off *outside* the transaction
      // (inside one, the PRAGMA lines of Prisma's RedefineTables scripts are no-ops and
      // DROP TABLE would cascade into child rows), check them before commit.
      db.pragma("foreign_keys = OFF");
      db.exec("BEGIN IMMEDIATE"); // one writer; a second process waits (busy timeout)
      try {
        for (const m of pending(all, db.prepare(`SELECT * FROM "_prisma_migrations"`).all() as Row[])) {
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
  }
  return applied;
}
