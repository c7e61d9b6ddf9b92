#!/usr/bin/env node
// tessera <command>: serve, migrate, clients …, keys …, users …, prune, audit
import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.js";
import { exitOnStartFailure, serve } from "../server.js";
import { applyMigrations } from "../storage/migrate.js";
import { AUDIT_USAGE, auditCommand } from "./audit.js";
import { CLIENTS_USAGE, clientsCommand } from "./clients.js";
import { KEYS_USAGE, keysCommand } from "./keys.js";
import { printer } from "./output.js";
import { PRUNE_USAGE, pruneCommand } from "./prune.js";
import { USERS_USAGE, usersCommand } from "./users.js";

const USAGE = `usage:
tessera serve
tessera migrate [--json]
${CLIENTS_USAGE}
${KEYS_USAGE}
${USERS_USAGE}
${PRUNE_USAGE}
${AUDIT_USAGE}
Every command takes --json. Settings come from the environment (see README).`;

async function migrate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } }, strict: true });
  const applied = await applyMigrations(loadConfig().databaseUrl);
  printer(values.json ?? false)(values.json ? { applied } : applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
}

const USER_ERRORS = new Set(["ConfigError", "ValidationError", "NotFoundError", "KeyDecryptionError", "TypeError"]);

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(loadConfig());
    case "migrate":
      return migrate(rest);
    case "clients":
      return clientsCommand(loadConfig(), rest);
    case "keys":
      return keysCommand(loadConfig(), rest);
    case "users":
      return usersCommand(loadConfig(), rest);
    case "prune":
      return pruneCommand(loadConfig(), rest);
    case "audit":
      return auditCommand(loadConfig(), rest);
    case "help":
    case "--help":
    case undefined:
      console.log(USAGE);
      return;
    default:
      console.error(`tessera: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const e = error as Error & { code?: string };
  // parseArgs reports unknown flags as TypeError with an ERR_PARSE_ARGS_* code
  if (USER_ERRORS.has(e.name) && (e.name !== "TypeError" || e.code?.startsWith("ERR_PARSE_ARGS"))) {
    console.error(`tessera: ${e.message}`);
    process.exit(e.name === "NotFoundError" ? 3 : 1);
  }
  exitOnStartFailure(error);
});
