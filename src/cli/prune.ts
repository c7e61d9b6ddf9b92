// tessera prune: delete expired blocklist entries and dead refresh tokens now.
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { systemClock } from "../domain/clock.js";
import { pruneExpired } from "../domain/maintenance.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";

export const PRUNE_USAGE = "tessera prune";

export async function pruneCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } }, strict: true });
  printer(values.json ?? false)(await withDb(config, (db) => pruneExpired(db, systemClock)));
}
