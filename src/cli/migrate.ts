// tessera migrate: apply pending migrations, creating the database (SQLite file) if need be.
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { databaseLocation } from "../storage/database-location.js";
import { applyMigrations } from "../storage/migrate.js";
import { printer } from "./output.js";

export const MIGRATE_USAGE = "tessera migrate\n  applies pending migrations; creates the database if it does not exist (as serve does)";

export async function migrateCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } }, strict: true });
  process.stderr.write(`tessera: database ${databaseLocation(config.databaseUrl)}\n`);
  const applied = await applyMigrations(config.databaseUrl);
  printer(values.json ?? false)(values.json ? { applied } : applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
}
