// applyMigrations (src/storage/migrate.ts) on migrations of the test's own: a failing migration is
// rolled back and named, a migration an earlier run left unfinished stops the next run, a migration
// edited after it was applied is warned about and not applied again, and on SQLite a migration that
// leaves foreign keys broken is rolled back. The real migrations: every test's fresh database.
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import t from "tap";
import type { Test } from "tap";
import { applyMigrations } from "../../src/storage/migrate.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";

/** A prisma/ root with these migrations (name → SQL) for the test's provider. */
function migrationsRoot(t: Test, migrations: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-migrations-"));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(migrations)) {
    fs.mkdirSync(path.join(root, "migrations", TEST_PROVIDER, name), { recursive: true });
    fs.writeFileSync(path.join(root, "migrations", TEST_PROVIDER, name, "migration.sql"), sql);
  }
  return root;
}

/** Runs one statement on the database, whichever it is. */
async function query(url: string, text: string): Promise<unknown[]> {
  if (TEST_PROVIDER === "sqlite") {
    const db = new Database(url.slice("file:".length));
    try {
      return text.trimStart().startsWith("SELECT") ? db.prepare(text).all() : [db.prepare(text).run()];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

const tables = async (url: string) =>
  (TEST_PROVIDER === "sqlite"
    ? await query(url, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'M%' ORDER BY name`)
    : await query(url, `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'M%' ORDER BY tablename`)
  ).map((r) => (r as { name: string }).name);

t.test("a failing migration is rolled back and named; nothing is recorded for it", async (t) => {
  const url = await freshDatabaseUrl(t);
  const root = migrationsRoot(t, {
    "0001_first": `CREATE TABLE "MFirst" ("id" INTEGER PRIMARY KEY);`,
    "0002_broken": `CREATE TABLE "MBroken" ("id" INTEGER PRIMARY KEY); INSERT INTO "MNowhere" VALUES (1);`,
  });
  await t.rejects(applyMigrations(url, root), /0002_broken|MNowhere/);
  // PostgreSQL applies each migration in its own transaction; SQLite applies a run's pending
  // migrations in one (BEGIN IMMEDIATE), so the first goes with the broken one.
  const done = (await query(url, `SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name`)).map((r) => (r as { migration_name: string }).migration_name);
  if (TEST_PROVIDER === "postgresql") {
    t.same(done, ["0001_first"]);
    t.same(await tables(url), ["MFirst"], "the broken migration's table is gone with it");
  } else {
    t.same(done, []);
    t.same(await tables(url), [], "nothing of the run is left");
  }
});

t.test("a migration an earlier run left unfinished stops the next run", async (t) => {
  const url = await freshDatabaseUrl(t);
  const root = migrationsRoot(t, { "0001_first": `CREATE TABLE "MFirst" ("id" INTEGER PRIMARY KEY);` });
  t.same(await applyMigrations(url, root), ["0001_first"]);
  await query(url, `UPDATE "_prisma_migrations" SET finished_at = NULL`);
  await t.rejects(applyMigrations(url, root), { message: "migration 0001_first failed earlier; resolve it first" });
});

t.test("a migration edited after it was applied is warned about, not applied again", async (t) => {
  const url = await freshDatabaseUrl(t);
  const root = migrationsRoot(t, { "0001_first": `CREATE TABLE "MFirst" ("id" INTEGER PRIMARY KEY);` });
  t.same(await applyMigrations(url, root), ["0001_first"]);
  fs.appendFileSync(path.join(root, "migrations", TEST_PROVIDER, "0001_first", "migration.sql"), "\n-- edited\n");
  const warnings = t.capture(console, "warn");
  t.same(await applyMigrations(url, root), [], "nothing applied");
  t.same(warnings.args(), [["migration 0001_first was modified after it was applied"]]);
});

t.test("SQLite: a migration that leaves a foreign key broken is rolled back", { skip: TEST_PROVIDER !== "sqlite" && "SQLite's foreign keys are checked after its migrations; PostgreSQL checks each statement" }, async (t) => {
  const url = await freshDatabaseUrl(t);
  const root = migrationsRoot(t, {
    "0001_orphan": `CREATE TABLE "MParent" ("id" INTEGER PRIMARY KEY);
CREATE TABLE "MChild" ("id" INTEGER PRIMARY KEY, "parentId" INTEGER NOT NULL REFERENCES "MParent" ("id"));
INSERT INTO "MChild" VALUES (1, 42);`,
  });
  await t.rejects(applyMigrations(url, root), /^foreign key violations after migration: \[\{"table":"MChild"/);
  t.same(await tables(url), [], "rolled back");
});
