// tessera keys list
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { ValidationError } from "../errors/internal.js";
import { SigningKeyRepository } from "../storage/signing-keys.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";

export const KEYS_USAGE = "tessera keys list";

export async function keysCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean" } }, allowPositionals: true, strict: true });
  const print = printer(values.json ?? false);
  if (positionals[0] !== "list") throw new ValidationError(`unknown keys command ${JSON.stringify(positionals[0] ?? "")}\n${KEYS_USAGE}`);
  await withDb(config, async (db) => {
    const keys = await new SigningKeyRepository(db).listAll();
    // Public facts only: the sealed private key never leaves the database through the CLI.
    print(keys.map(({ kid, alg, state, generation, createdAt, activatesAt, retiredAt }) => ({ kid, alg, state, generation, createdAt, activatesAt, retiredAt })));
  });
}
