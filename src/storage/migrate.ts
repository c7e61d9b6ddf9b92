// Applies prisma/migrations/<provider>/<NNNN_name>/migration.sql at startup, recording them in
// Prisma's own _prisma_migrations table, so `prisma migrate status|deploy` agree with it. How each
// database applies them: sqlite/migrate.ts, postgresql/migrate.ts.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { providerOf, type Provider } from "./prisma.js";

// prisma/ at the project root: two levels up from both src/storage/ and dist/storage/.
const PRISMA_ROOT = fileURLToPath(new URL("../../prisma", import.meta.url));

export type Migration = { name: string; sql: string; checksum: string };

function readMigrations(dir: string): Migration[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name).sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") };
    });
}

/** A row of _prisma_migrations, as far as pending() reads it. */
export type MigrationRow = { migration_name: string; checksum: string; finished_at: unknown; rolled_back_at: unknown };

/** The migrations not applied yet, given the rows recorded; throws when one failed earlier. */
export function pending(all: Migration[], rows: MigrationRow[]): Migration[] {
  const failed = rows.find((r) => !r.finished_at && !r.rolled_back_at);
  if (failed) throw new Error(`migration ${failed.migration_name} failed earlier; resolve it first`);
  const done = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r.checksum]));
  for (const m of all) if (done.has(m.name) && done.get(m.name) !== m.checksum) console.warn(`migration ${m.name} was modified after it was applied`);
  return all.filter((m) => !done.has(m.name));
}

// Imported only when used: each with its own driver.
const APPLY: Record<Provider, string> = { sqlite: "./sqlite/migrate.js", postgresql: "./postgresql/migrate.js" };
type Applier = { applyPending(url: string, all: Migration[]): Promise<string[]> };

/** Applies the migrations the database has not applied yet; their names, in order. */
export async function applyMigrations(url: string, root = PRISMA_ROOT): Promise<string[]> {
  const provider = providerOf(url);
  const { applyPending } = (await import(APPLY[provider])) as Applier;
  return applyPending(url, readMigrations(path.join(root, "migrations", provider)));
}
