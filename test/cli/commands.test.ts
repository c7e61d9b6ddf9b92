// The CLI's command modules called in-process, as src/cli/index.ts calls them, for what each refuses
// before it changes anything: a missing argument, a flag given with its opposite, no subcommand. The
// message is what the CLI prints after "tessera: " (test/cli/operator.test.ts runs real processes).
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { auditCommand } from "../../src/cli/audit.js";
import { clientsCommand } from "../../src/cli/clients.js";
import { grantsCommand } from "../../src/cli/grants.js";
import { keysCommand } from "../../src/cli/keys.js";
import { usersCommand } from "../../src/cli/users.js";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { applyMigrations } from "../../src/storage/migrate.js";
import { openDb } from "../../src/storage/prisma.js";
import { freshDatabaseUrl } from "../helpers/database.js";

const databaseUrl = await freshDatabaseUrl(t);
await applyMigrations(databaseUrl);
const config = loadConfig({ DATABASE_URL: databaseUrl, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek") });

const COMMANDS: Record<string, (config: Config, args: string[]) => Promise<void>> = {
  clients: clientsCommand,
  keys: keysCommand,
  users: usersCommand,
  grants: grantsCommand,
  audit: auditCommand,
};

const CLIENT = ["--name", "x", "--audience", "https://api.acme.test", "--grant", "client_credentials"];

t.test("refused with a ValidationError naming the argument, and nothing written", async (t) => {
  const cases: Array<[string[], string | RegExp]> = [
    [["clients"], /^unknown clients command ""\ntessera clients create /],
    [["clients", "show"], "missing CLIENT_ID"],
    [["clients", "create", "--name", "x", "--audience", "https://api.acme.test"], "grant: at least one grant type is needed"],
    [["clients", "create", "--name", "x", "--grant", "client_credentials"], "audience: at least one audience is needed"],
    [["clients", "create", ...CLIENT, "--first-party", "--third-party"], "use --first-party or --third-party, not both"],
    [["clients", "create", ...CLIENT, "--enable", "--disable"], "use --enable or --disable, not both"],
    [["clients", "create", ...CLIENT, "--introspect", "--no-introspect"], "use --introspect or --no-introspect, not both"],
    [["keys"], /^unknown keys command ""\ntessera keys list\n/],
    [["keys", "retire"], "missing KID"],
    [["keys", "rotate", "--alg", "HS256"], "--alg: one of RS256, PS256, ES256, EdDSA"],
    [["keys", "list", "--alg", "ES256"], "--alg: only with keys rotate"],
    [["users"], /^unknown users command ""\ntessera users create /],
    [["users", "disable"], "username: --username is required"],
    [["grants"], /^unknown grants command ""\ntessera grants list /],
    [["grants", "frobnicate"], /^unknown grants command "frobnicate"\n/],
    [["grants", "list"], "user: --user is required"],
    [["grants", "revoke", "--user", "nobody"], "client: --client is required (or --grant GRANT_ID)"],
    [["audit", "--limit", "ten"], "limit: must be a whole number"],
    [["audit", "--before", "1.5"], "before: must be a whole number"],
  ];
  for (const [[command, ...args], message] of cases) {
    await t.rejects(COMMANDS[command!]!(config, args), { name: "ValidationError", message }, [command, ...args].join(" "));
  }
  const db = await openDb(databaseUrl);
  t.teardown(() => db.$disconnect());
  t.equal(await db.client.count(), 0, "no client");
  t.equal(await db.auditEvent.count(), 0, "nothing audited");
});
