#!/usr/bin/env node
// tessera <command>: serve, migrate, clients …, keys …, users …, grants …, prune, audit
// Each command's module is imported only when that command runs: the server (Fastify, every route)
// alone took a second to load, on every CLI call.
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { describeStartFailure } from "../errors/start-failure.js";

type Command = {
  usage: () => Promise<string>;
  run: (config: Config, args: string[]) => Promise<void>;
};

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: async () => "tessera serve\n  runs the server (what npm start does); settings come from the environment",
    run: async (config) => (await import("../server.js")).serve(config),
  },
  migrate: {
    usage: async () => (await import("./migrate.js")).MIGRATE_USAGE,
    run: async (config, args) => (await import("./migrate.js")).migrateCommand(config, args),
  },
  clients: {
    usage: async () => (await import("./clients.js")).CLIENTS_USAGE,
    run: async (config, args) => (await import("./clients.js")).clientsCommand(config, args),
  },
  keys: {
    usage: async () => (await import("./keys.js")).KEYS_USAGE,
    run: async (config, args) => (await import("./keys.js")).keysCommand(config, args),
  },
  users: {
    usage: async () => (await import("./users.js")).USERS_USAGE,
    run: async (config, args) => (await import("./users.js")).usersCommand(config, args),
  },
  grants: {
    usage: async () => (await import("./grants.js")).GRANTS_USAGE,
    run: async (config, args) => (await import("./grants.js")).grantsCommand(config, args),
  },
  prune: {
    usage: async () => (await import("./prune.js")).PRUNE_USAGE,
    run: async (config, args) => (await import("./prune.js")).pruneCommand(config, args),
  },
  audit: {
    usage: async () => (await import("./audit.js")).AUDIT_USAGE,
    run: async (config, args) => (await import("./audit.js")).auditCommand(config, args),
  },
};

async function usage(): Promise<string> {
  const lines = await Promise.all(Object.values(COMMANDS).map((c) => c.usage()));
  return `usage:\n${lines.join("\n")}\nEvery command takes --json and --help. Durations take seconds or a unit: 900, 15m, 12h, 30d.\n` +
    "Settings come from the environment (see README); the database is DATABASE_URL's, never created here (only serve and migrate create it).";
}

const USER_ERRORS = new Set(["ConfigError", "ValidationError", "NotFoundError", "KeyDecryptionError", "TypeError"]);

/** The `error` code of a --json failure, like the admin API's. */
const ERROR_CODES: Record<string, string> = {
  ValidationError: "invalid_request",
  TypeError: "invalid_request",
  NotFoundError: "not_found",
  ConfigError: "invalid_configuration",
  KeyDecryptionError: "invalid_configuration",
};

/** Prints the failure (one line, or a JSON object on stderr with --json) and exits non-zero. */
async function fail(error: unknown, json: boolean): Promise<never> {
  const e = error as Error & { code?: string };
  // parseArgs reports unknown flags as TypeError with an ERR_PARSE_ARGS_* code
  const userError = USER_ERRORS.has(e?.name) && (e.name !== "TypeError" || e.code?.startsWith("ERR_PARSE_ARGS"));
  const line = userError ? e.message : describeStartFailure(error);
  const exitCode = e?.name === "NotFoundError" ? 3 : 1;
  if (json) {
    // A ValidationError names its own code (invalid_redirect_uri, …), as the admin API answers it.
    const code = userError ? (e.name === "ValidationError" ? e.code! : ERROR_CODES[e.name]!) : line ? "unavailable" : "server_error";
    // Coverage: `?? error` is for a thrown value that is not an Error, which no command throws (the
    // --json tests assert this line's output for every other case).
    /* c8 ignore next */
    process.stderr.write(`${JSON.stringify({ error: code, error_description: line ?? String(e?.message ?? error) })}\n`);
  } else if (line) {
    process.stderr.write(`tessera: ${line}\n`);
  } else {
    console.error(error);
  }
  process.exit(exitCode);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const json = rest.includes("--json");
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${await usage()}\n`);
    return;
  }
  const found = COMMANDS[command];
  if (!found) {
    const message = `unknown command ${JSON.stringify(command)}`;
    if (json) process.stderr.write(`${JSON.stringify({ error: "invalid_request", error_description: message })}\n`);
    else process.stderr.write(`tessera: ${message}\n${await usage()}\n`);
    process.exit(2);
  }
  try {
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(`${await found.usage()}\n`);
      return;
    }
    await found.run(loadConfig(), rest);
  } catch (error) {
    return fail(error, json); // never returns: fail exits the process
  }
}

await main(process.argv.slice(2));
