// A migrated database connection for one CLI command, closed when the command ends.
import type { Config } from "../config/schema.js";
import { applyMigrations } from "../storage/migrate.js";
import { openDb, type Db } from "../storage/prisma.js";

export async function withDb<T>(config: Config, run: (db: Db) => Promise<T>): Promise<T> {
  await applyMigrations(config.databaseUrl);
  const db = await openDb(config.databaseUrl);
  try {
    return await run(db);
  } finally {
    await db.$disconnect();
  }
}
