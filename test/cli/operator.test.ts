// What an operator meets at the command line, as real processes: --help on every command, errors
// as JSON with --json, output for people without it, durations as the environment spells them,
// the database it opened (and never a new one made by accident), and a prune with nothing to do.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import t, { type Test } from "tap";
import { applyMigrations } from "../../src/storage/migrate.js";
import { openDb } from "../../src/storage/prisma.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";

// About two dozen real processes, each compiling the CLI with tsx.
t.setTimeout(600_000);

const databaseUrl = await freshDatabaseUrl(t);
const { NODE_OPTIONS: _instrumentation, ...parentEnv } = process.env;
const env = {
  ...parentEnv,
  DATABASE_URL: databaseUrl,
  TESSERA_KEK: "",
  TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-operator-test-unused-kek"),
};
const tessera = (...args: string[]): Promise<CliRun> => runCli(args, { env });

/** How the CLI names the database on stderr: the SQLite file, or PostgreSQL's host, port and name. */
function location(url: string): string {
  if (TEST_PROVIDER === "sqlite") return `SQLite ${url.slice("file:".length)}`;
  const { hostname, port, pathname } = new URL(url);
  return `PostgreSQL ${hostname}:${port || "5432"}/${pathname.slice(1)}`;
}

t.test("migrate creates the database and says which one", async (t) => {
  const run = await tessera("migrate", "--json");
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stderr, `tessera: database ${location(databaseUrl)}\n`);
  t.notMatch(run.stderr, /postgres@|password/, "no user or password");
});

t.test("every command answers --help with its usage on stdout and exit 0", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["clients", "create", "--help"], /^tessera clients create --name NAME/],
    [["clients", "--help"], /^tessera clients create/],
    [["keys", "prune", "-h"], /^tessera keys list\n/],
    [["users", "create", "--help"], /^tessera users create --username NAME/],
    [["prune", "--help"], /^tessera prune/],
    [["audit", "--help"], /^tessera audit \[--limit N\]/],
    [["migrate", "--help"], /^tessera migrate\n/],
    [["serve", "--help"], /^tessera serve\n/],
  ];
  for (const [args, usage] of cases) {
    const run = await tessera(...args);
    t.equal(run.code, 0, `${args.join(" ")}: exit 0 ${run.stderr}`);
    t.match(run.stdout, usage, `${args.join(" ")}: its usage`);
    t.equal(run.stderr, "", `${args.join(" ")}: nothing on stderr`);
  }
});

/** The whole usage: every command's, then the lines that hold for all of them. */
function assertFullUsage(t: Test, text: string, what: string) {
  t.match(text, /^usage:\ntessera serve\n/, `${what}: starts with the list of commands`);
  for (const command of ["tessera migrate", "tessera clients create", "tessera keys list", "tessera users create", "tessera prune", "tessera audit"]) {
    t.ok(text.includes(`\n${command}`), `${what}: lists ${command}`);
  }
  t.ok(text.endsWith("never created here (only serve and migrate create it).\n"), `${what}: ends with where settings come from`);
}

t.test("with no command, help or -h, the whole usage on stdout and exit 0", async (t) => {
  for (const args of [[], ["help"], ["-h"]]) {
    const run = await tessera(...args);
    const what = `tessera ${args.join(" ")}`.trim();
    t.equal(run.code, 0, `${what}: exit 0 ${run.stderr}`);
    assertFullUsage(t, run.stdout, what);
    t.equal(run.stderr, "", `${what}: nothing on stderr`);
  }
});

t.test("an unknown command without --json: its name and the whole usage on stderr, exit 2", async (t) => {
  const run = await tessera("frobnicate");
  t.equal(run.code, 2);
  t.equal(run.stdout, "");
  const [first, ...usage] = run.stderr.split("\n");
  t.equal(first, 'tessera: unknown command "frobnicate"');
  assertFullUsage(t, usage.join("\n"), "stderr");
});

t.test("an unknown subcommand: refused with exit 1, naming it, then the command's usage", async (t) => {
  for (const [command, usage] of [["clients", /^tessera clients create /], ["keys", /^tessera keys list\n/], ["users", /^tessera users create /]] as const) {
    const run = await tessera(command, "frobnicate", "--json");
    t.equal(run.code, 1, `${command}: exit 1`);
    const { error, error_description: description } = JSON.parse(run.stderr.trim().split("\n").at(-1)!) as { error: string; error_description: string };
    t.equal(error, "invalid_request", `${command}: invalid_request`);
    const [first, ...rest] = description.split("\n");
    t.equal(first, `unknown ${command} command "frobnicate"`);
    t.match(rest.join("\n"), usage, `${command}: then its usage`);
  }
});

t.test("with --json an error is one JSON object on stderr and the exit is non-zero", async (t) => {
  const missing = await tessera("clients", "show", "no-such-client", "--json");
  t.equal(missing.code, 3);
  t.equal(missing.stdout, "");
  const lines = missing.stderr.trim().split("\n");
  t.equal(lines[0], `tessera: database ${location(databaseUrl)}`);
  t.same(JSON.parse(lines[1]!), { error: "not_found", error_description: "client no-such-client not found" });

  const flag = await tessera("clients", "create", "--name", "x", "--colour", "blue", "--json");
  t.equal(flag.code, 1);
  t.equal(flag.stdout, "");
  const error = JSON.parse(flag.stderr) as { error: string; error_description: string };
  t.equal(error.error, "invalid_request");
  t.match(error.error_description, /--colour/);

  const ttl = await tessera("clients", "create", "--name", "x", "--audience", "https://api.acme.test", "--grant", "client_credentials", "--token-ttl", "ten", "--json");
  t.equal(ttl.code, 1);
  t.same(JSON.parse(ttl.stderr.trim().split("\n").at(-1)!), {
    error: "invalid_request",
    error_description: 'token-ttl: must be a duration such as 900, 15m, 12h or 30d (got "ten")',
  });

  const unknown = await tessera("frobnicate", "--json");
  t.equal(unknown.code, 2);
  t.same(JSON.parse(unknown.stderr), { error: "invalid_request", error_description: 'unknown command "frobnicate"' });
});

t.test("without --json: a 'name: value' line per field, entries separated by a blank line, (none) for no entries", async (t) => {
  const none = await tessera("users", "list");
  t.equal(none.code, 0, none.stderr);
  t.equal(none.stdout, "(none)\n");

  const plain = await tessera("clients", "create", "--name", "Plain", "--audience", "https://a.acme.test", "--grant", "client_credentials");
  t.equal(plain.code, 0, plain.stderr);
  const { publicKey } = await generateKeyPair("ES256");
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "people-1", alg: "ES256", use: "sig" }] };
  const jwksFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tessera-operator-")), "jwks.json");
  t.teardown(() => fs.rmSync(path.dirname(jwksFile), { recursive: true, force: true }));
  fs.writeFileSync(jwksFile, JSON.stringify(jwks));
  const created = await tessera("clients", "create", "--name", "People", "--audience", "https://a.acme.test", "--audience", "https://b.acme.test",
    "--grant", "client_credentials", "--jwks-file", jwksFile);
  t.equal(created.code, 0, created.stderr);
  const lines = created.stdout.split("\n");
  t.equal(lines.at(-1), "", "ends with a newline");
  t.ok(lines.includes("client_name: People"));
  t.ok(lines.includes("audiences: https://a.acme.test https://b.acme.test"), "a list on one line, space-separated");
  t.ok(lines.includes("token_ttl: null"));
  const jwksLine = lines.find((line) => line.startsWith("jwks: "));
  t.same(JSON.parse(jwksLine?.slice("jwks: ".length) ?? "null"), jwks, "an object as one line of JSON");

  const audit = await tessera("audit", "--limit", "2");
  t.equal(audit.code, 0, audit.stderr);
  const entries = audit.stdout.trimEnd().split("\n\n");
  t.equal(entries.length, 2);
  for (const [i, name] of ["People", "Plain"].entries()) {
    t.match(entries[i], new RegExp(`^id: \\d+\nat: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\nactor: cli\naction: client\\.create\ntarget: client:[\\w-]+\ndetails: \\{"name":"${name}"\\}$`), `entry ${i}: ${name}, its time as ISO 8601`);
  }
});

t.test("--jwks-file: a file that cannot be read as JSON is refused, naming it; none removes the keys", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-operator-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, "missing.json");
  const notJson = path.join(dir, "not.json");
  fs.writeFileSync(notJson, "keys: none");
  for (const file of [missing, notJson]) {
    const run = await tessera("clients", "create", "--name", "Keys", "--audience", "https://a.acme.test", "--grant", "client_credentials", "--jwks-file", file, "--json");
    t.equal(run.code, 1, file);
    const error = JSON.parse(run.stderr.trim().split("\n").at(-1)!) as { error: string; error_description: string };
    t.equal(error.error, "invalid_request");
    t.ok(error.error_description.startsWith(`jwks-file: cannot read a JSON JWK Set from ${file}: `), error.error_description);
  }

  const { publicKey } = await generateKeyPair("ES256");
  const jwksFile = path.join(dir, "jwks.json");
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "keys-1", alg: "ES256", use: "sig" }] }));
  const created = await tessera("clients", "create", "--name", "Keys", "--audience", "https://a.acme.test", "--grant", "client_credentials", "--jwks-file", jwksFile, "--json");
  t.equal(created.code, 0, created.stderr);
  const { client_id: id, jwks } = JSON.parse(created.stdout) as { client_id: string; jwks: unknown };
  t.not(jwks, null);
  const removed = await tessera("clients", "update", id, "--jwks-file", "none", "--json");
  t.equal(removed.code, 0, removed.stderr);
  t.equal((JSON.parse(removed.stdout) as { jwks: unknown }).jwks, null);
});

t.test("--token-ttl and --grace take the environment's duration forms", async (t) => {
  const created = await tessera("clients", "create", "--name", "Durations", "--audience", "https://api.acme.test", "--grant", "client_credentials", "--token-ttl", "15m", "--json");
  t.equal(created.code, 0, created.stderr);
  const client = JSON.parse(created.stdout) as { client_id: string; token_ttl: number };
  t.equal(client.token_ttl, 900);

  const updated = await tessera("clients", "update", client.client_id, "--token-ttl", "1h", "--json");
  t.equal(updated.code, 0, updated.stderr);
  t.equal((JSON.parse(updated.stdout) as { token_ttl: number }).token_ttl, 3600);

  const before = Date.now();
  const rotated = await tessera("clients", "rotate-secret", client.client_id, "--grace", "1h", "--json");
  const after = Date.now();
  t.equal(rotated.code, 0, rotated.stderr);
  const expires = Date.parse((JSON.parse(rotated.stdout) as { previous_secret_expires_at: string }).previous_secret_expires_at);
  t.ok(expires >= before + 3_600_000 - 1000 && expires <= after + 3_600_000, "the old secret lasts one hour");
});

t.test("keys prune with nothing to prune says so (and --json keeps its shape)", async (t) => {
  const human = await tessera("keys", "prune");
  t.equal(human.code, 0, human.stderr);
  t.equal(human.stdout, "nothing to prune: no retired key is past its publication period\n");
  const json = await tessera("keys", "prune", "--json");
  t.equal(json.code, 0, json.stderr);
  t.same(JSON.parse(json.stdout), { removed: [] });
});

t.test("from another directory a relative SQLite path is refused, not created empty", async (t) => {
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-elsewhere-"));
  t.teardown(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
  const run = await runCli(["keys", "list"], { env: { ...env, DATABASE_URL: "file:./data/tessera.db" }, cwd: elsewhere });
  t.equal(run.code, 1);
  t.equal(run.stdout, "", "no empty list");
  const file = path.join(fs.realpathSync(elsewhere), "data", "tessera.db");
  t.equal(
    run.stderr,
    `tessera: DATABASE_URL: no database at ${file} (a relative path is resolved against the current directory, ${fs.realpathSync(elsewhere)}); ` +
      "start the server once or run `tessera migrate` to create it\n",
  );
  t.notOk(fs.existsSync(path.join(elsewhere, "data")), "nothing was created");
  t.notOk(fs.existsSync(file), "no database file");

  const json = await runCli(["clients", "list", "--json"], { env: { ...env, DATABASE_URL: "file:./data/tessera.db" }, cwd: elsewhere });
  t.equal(json.code, 1);
  t.equal((JSON.parse(json.stderr) as { error: string }).error, "invalid_configuration");
  t.notOk(fs.existsSync(file), "still no database file");
});

t.test("a failure that is no operator's mistake: the error and its stack on stderr, exit 1; with --json, server_error", async (t) => {
  // Injected at the outer edge: a database whose users table was renamed (a damaged schema).
  const damaged = await freshDatabaseUrl(t);
  await applyMigrations(damaged);
  const db = await openDb(damaged);
  await db.$executeRawUnsafe(`ALTER TABLE "User" RENAME TO "UserMoved"`);
  await db.$disconnect();

  const plain = await runCli(["users", "list"], { env: { ...env, DATABASE_URL: damaged } });
  t.equal(plain.code, 1);
  t.equal(plain.stdout, "");
  const [located, ...rest] = plain.stderr.split("\n");
  t.equal(located, `tessera: database ${location(damaged)}`);
  t.match(rest.join("\n"), /User[^]*\n\s+at /, "the error, then its stack");

  const json = await runCli(["users", "list", "--json"], { env: { ...env, DATABASE_URL: damaged } });
  t.equal(json.code, 1);
  const error = JSON.parse(json.stderr.trim().split("\n").at(-1)!) as { error: string; error_description: string };
  t.equal(error.error, "server_error");
  t.match(error.error_description, /User/);
});

t.test("clients create|update: --first-party/--third-party, --introspect/--no-introspect, --enable/--disable, --token-ttl none, --confidential", async (t) => {
  const created = await tessera("clients", "create", "--name", "Flags", "--audience", "https://api.acme.test", "--grant", "password", "--first-party", "--introspect", "--token-ttl", "10m", "--json");
  t.equal(created.code, 0, created.stderr);
  const client = JSON.parse(created.stdout) as { client_id: string };
  t.match(client, { grant_types: ["password"], first_party: true, introspect: true, token_ttl: 600, enabled: true });

  const thirdParty = await tessera("clients", "update", client.client_id, "--third-party");
  t.equal(thirdParty.code, 1);
  t.equal(thirdParty.stderr.replace(/^tessera: database .*\n/, ""), "tessera: grant: password is for first-party clients only (--first-party)\n", "a password client stays first-party");

  const changed = await tessera("clients", "update", client.client_id, "--grant", "client_credentials", "--third-party", "--no-introspect", "--disable", "--token-ttl", "none", "--json");
  t.equal(changed.code, 0, changed.stderr);
  t.match(JSON.parse(changed.stdout), { grant_types: ["client_credentials"], first_party: false, introspect: false, enabled: false, token_ttl: null });
  const enabled = await tessera("clients", "update", client.client_id, "--enable", "--json");
  t.equal(enabled.code, 0, enabled.stderr);
  t.match(JSON.parse(enabled.stdout), { enabled: true, first_party: false, introspect: false });

  const spa = await tessera("clients", "create", "--name", "SPA", "--audience", "https://api.acme.test", "--grant", "authorization_code", "--redirect-uri", "https://app.acme.test/cb", "--public", "--json");
  t.equal(spa.code, 0, spa.stderr);
  const { client_id: spaId } = JSON.parse(spa.stdout) as { client_id: string };
  const confidential = await tessera("clients", "update", spaId, "--confidential", "--json");
  t.equal(confidential.code, 0, confidential.stderr);
  t.match(JSON.parse(confidential.stdout), { public: false, token_endpoint_auth_method: "client_secret_basic" });
});

t.test("users update --new-username renames the user, who keeps their id", async (t) => {
  const created = await runCli(["users", "create", "--username", "dora", "--password-stdin", "--json"], { env, stdin: "dora-password-1\n" });
  t.equal(created.code, 0, created.stderr);
  const { id } = JSON.parse(created.stdout) as { id: string };
  const renamed = await tessera("users", "update", "--username", "dora", "--new-username", "dorothy", "--json");
  t.equal(renamed.code, 0, renamed.stderr);
  t.same(JSON.parse(renamed.stdout), { id, username: "dorothy", enabled: true });
  const old = await tessera("users", "update", "--username", "dora", "--name", "Dora");
  t.equal(old.code, 3, "the old name is gone");
});

t.test("migrate without --json: the migrations it applied, then that the database is up to date", async (t) => {
  const fresh = await freshDatabaseUrl(t);
  const first = await runCli(["migrate"], { env: { ...env, DATABASE_URL: fresh } });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^applied 0001_\w+(, \d{4}_\w+)*\n$/);
  const second = await runCli(["migrate"], { env: { ...env, DATABASE_URL: fresh } });
  t.equal(second.code, 0, second.stderr);
  t.equal(second.stdout, "database is up to date\n");
});

t.test("a database that cannot be reached: one line naming it, and with --json the error is unavailable", async (t) => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const { port } = holder.address() as net.AddressInfo;
  await new Promise((resolve) => holder.close(resolve)); // a port nothing listens on
  const away = { ...env, DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/tessera` };
  const [plain, json] = await Promise.all([runCli(["clients", "list"], { env: away }), runCli(["clients", "list", "--json"], { env: away })]);
  const line = `cannot reach the database at 127.0.0.1:${port} (ECONNREFUSED) (DATABASE_URL)`;
  t.equal(plain.code, 1);
  t.equal(plain.stdout, "");
  t.equal(plain.stderr, `tessera: database PostgreSQL 127.0.0.1:${port}/tessera\ntessera: ${line}\n`);
  t.equal(json.code, 1);
  t.same(JSON.parse(json.stderr.trim().split("\n").at(-1)!), { error: "unavailable", error_description: line });
});
