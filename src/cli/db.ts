// A migrated database connection for one CLI command, closed when the command ends. The CLI never
// creates a database: a relative SQLite path resolved from another directory would otherwise make an
// empty one and answer from it. Only `serve` and `migrate` create. Which database was opened is said
// on stderr (no password), so a wrong DATABASE_URL or directory shows at once.
import fs from "node:fs";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../errors/internal.js";
import { databaseLocation, sqliteFile } from "../storage/database-location.js";
import { applyMigrations } from "../storage/migrate.js";
import { openDb, providerOf, type Db } from "../storage/prisma.js";

export async function withDb<T>(config: Config, run: (db: Db) => Promise<T>): Promise<T> {
  if (providerOf(config.databaseUrl) === "sqlite" && !fs.existsSync(sqliteFile(config.databaseUrl))) {
    throw new ConfigError(
      `DATABASE_URL: no database at ${sqliteFile(config.databaseUrl)} (a relative path is resolved against the current directory, ` +
        `${process.cwd()}); start the server once or run \`tessera migrate\` to create it`,
    );
  }
  process.stderr.write(`tessera: database ${databaseLocation(config.databaseUrl)}\n`);
  await applyMigrations(config.databaseUrl);
  const db = await openDb(config.databaseUrl);
  try {
    return await run(db);
  } finally {
    await db.$disconnect();
  }
}
