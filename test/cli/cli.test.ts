// The tessera CLI as an operator runs it: a real process on a real database, then the clients it
// registered used against an app built on that same database.
import os from "node:os";
import path from "node:path";
import t from "tap";
import { decodeJwt } from "jose";
import { sha256 } from "../../src/crypto/secrets.js";
import { basic, buildTestApp, form, type TestApp } from "../helpers/app.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { SettableClock } from "../helpers/clock.js";
import { freshDatabaseUrl } from "../helpers/database.js";
import { storedSigningKeys } from "../helpers/stored-keys.js";

const SECRET = /^[A-Za-z0-9_-]{43,}$/; // base64url of at least 32 bytes (256 bits)
const DIGEST_FIELDS = ["client_secret", "secretDigest", "previousSecretDigest", "secret_digest", "previous_secret_digest"];
/** A client as `--json` prints it: the admin API's representation (domain/clients/client-view.ts), in its order. */
const CLIENT_FIELDS = [
  "client_id", "client_name", "grant_types", "scope", "audiences", "token_endpoint_auth_method", "redirect_uris", "post_logout_redirect_uris", "public",
  "dpop_bound_access_tokens", "require_pushed_authorization_requests", "jwks", "token_ttl",
  "first_party", "introspect", "enabled", "previous_secret_expires_at", "created_at", "updated_at",
];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Assert = Pick<typeof t, "equal">;
type ClientJson = Record<string, unknown> & { client_id: string };

// About 15 real processes, each compiling the CLI with tsx: more than the suite's default per-file
// timeout allows on a busy machine.
t.setTimeout(300_000);

const databaseUrl = await freshDatabaseUrl(t);
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  TESSERA_KEK: "",
  TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-cli-test-unused-kek"),
};

function tessera(...args: string[]): Promise<CliRun> {
  return runCli(args, { env });
}

/** Runs a command that must succeed with --json and parses what it printed. */
async function json<T>(t: Assert, ...args: string[]): Promise<{ out: T; stdout: string }> {
  const run = await tessera(...args, "--json");
  t.equal(run.code, 0, `tessera ${args.join(" ")} --json exits 0 ${run.stderr}`);
  return { out: JSON.parse(run.stdout) as T, stdout: run.stdout };
}

const tokenRequest = (app: TestApp["app"], clientId: string, secret: string, params: Record<string, string> = {}) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, secret) },
    payload: form({ grant_type: "client_credentials", ...params }),
  });

t.test("migrate --json applies every migration once and is idempotent", async (t) => {
  const first = await json<{ applied: string[] }>(t, "migrate");
  t.ok(first.out.applied.length > 0, "the fresh database got migrations");
  t.ok(first.out.applied.every((name) => /^\d{4}_\w+$/.test(name)), "named NNNN_name");
  t.same([...first.out.applied].sort(), first.out.applied, "in order");
  const second = await json<{ applied: string[] }>(t, "migrate");
  t.same(second.out.applied, []);
});

t.test("clients and keys through the CLI, used by an app on the same database", async (t) => {
  const created = await json<ClientJson & { client_id: string; client_secret: string }>(
    t,
    "clients", "create",
    "--name", "Acme",
    "--audience", "https://api.acme.test",
    "--audience", "https://b.acme.test",
    "--scope", "read write",
    "--grant", "client_credentials",
    "--token-ttl", "600",
  );
  const { client_id: clientId, client_secret: secret, created_at, updated_at, ...rest } = created.out;
  t.same(Object.keys(created.out), ["client_id", "client_secret", ...CLIENT_FIELDS.slice(1)], "the client's fields, its secret after its id");
  t.match(clientId, /^[A-Za-z0-9_-]{22}$/);
  t.match(secret, SECRET, "a server-generated secret of at least 256 bits");
  t.same(rest, {
    client_name: "Acme",
    grant_types: ["client_credentials"],
    scope: "read write",
    audiences: ["https://api.acme.test", "https://b.acme.test"], // in the order given
    token_endpoint_auth_method: "client_secret_basic",
    redirect_uris: [],
    post_logout_redirect_uris: [],
    public: false,
    dpop_bound_access_tokens: false,
    require_pushed_authorization_requests: false,
    jwks: null,
    token_ttl: 600,
    first_party: false,
    introspect: false,
    enabled: true,
    previous_secret_expires_at: null,
  });
  t.match(created_at, ISO_TIME);
  t.match(updated_at, ISO_TIME);
  t.notOk(created.stdout.includes(sha256(secret)), "nor anywhere in the output");

  // The app starts on the database the CLI wrote; its clock starts at the real time because the
  // CLI stamps the grace period below with the system clock.
  const { app, clock } = await buildTestApp(t, { DATABASE_URL: databaseUrl }, new SettableClock(Date.now()));

  t.test("a token obtained with the printed secret", async (t) => {
    const res = await tokenRequest(app, clientId, secret);
    t.equal(res.statusCode, 200);
    t.equal(res.json().expires_in, 600, "the per-client lifetime");
    t.equal(res.json().scope, "read write");
    const claims = decodeJwt(res.json().access_token);
    t.equal(claims.aud, "https://api.acme.test", "the first audience is the default");
    t.equal(claims.client_id, clientId);
    const other = await tokenRequest(app, clientId, secret, { resource: "https://b.acme.test" });
    t.equal(other.statusCode, 200);
    t.equal(decodeJwt(other.json().access_token).aud, "https://b.acme.test");
  });

  t.test("keys list --json shows the app's key without private material", async (t) => {
    const { out, stdout } = await json<Array<Record<string, unknown>>>(t, "keys", "list");
    t.equal(out.length, 1);
    const [key] = out;
    t.equal(key?.kid, app.services.keys.signer?.kid);
    t.equal(key?.alg, "RS256");
    t.equal(key?.state, "active");
    for (const field of ["privateKey", "publicJwk", "d", "p", "q"]) t.notOk(key && field in key, `no ${field}`);
    const [stored] = await storedSigningKeys(databaseUrl);
    t.ok(stored);
    t.notOk(stdout.includes(stored!.privateKey), "the sealed private key is not printed");
  });

  t.test("list and show print no secret and no digest", async (t) => {
    const list = await json<ClientJson[]>(t, "clients", "list");
    t.same(list.out.map((c) => c.client_id), [clientId]);
    const show = await json<ClientJson>(t, "clients", "show", clientId);
    const { client_secret: _secret, ...registered } = created.out;
    t.same(show.out, registered, "what create printed, without the secret");
    t.same(list.out, [registered], "list prints the same representation");
    t.same(Object.keys(show.out), CLIENT_FIELDS);
    for (const out of [list.out[0]!, show.out]) {
      for (const field of DIGEST_FIELDS) t.notOk(field in out, `no ${field}`);
    }
    for (const stdout of [list.stdout, show.stdout]) {
      t.notOk(stdout.includes(secret));
      t.notOk(stdout.includes(sha256(secret)));
    }
  });

  t.test("update with no options changes nothing and prints the client (not 'not found')", async (t) => {
    const before = await json<ClientJson>(t, "clients", "show", clientId);
    const { out } = await json<ClientJson>(t, "clients", "update", clientId);
    t.same(out, before.out, "the client as it was, updated_at included");
    const human = await tessera("clients", "update", clientId);
    t.equal(human.code, 0, human.stderr);
    t.equal(
      human.stdout.split("\n").slice(0, 6).join("\n"),
      `client_id: ${clientId}\nclient_name: Acme\ngrant_types: client_credentials\nscope: read write\n` +
        "audiences: https://api.acme.test https://b.acme.test\ntoken_endpoint_auth_method: client_secret_basic",
      "without --json: the same fields, one per line",
    );
  });

  t.test("update --scope narrows the scopes and keeps the rest", async (t) => {
    const { out } = await json<ClientJson>(t, "clients", "update", clientId, "--scope", "read");
    t.same(Object.keys(out), CLIENT_FIELDS);
    t.equal(out.scope, "read");
    t.same(out.audiences, ["https://api.acme.test", "https://b.acme.test"]);
    t.equal(out.token_ttl, 600);
    await app.services.clients.refresh();
    const res = await tokenRequest(app, clientId, secret);
    t.equal(res.json().scope, "read");
    const refused = await tokenRequest(app, clientId, secret, { scope: "write" });
    t.equal(refused.statusCode, 400);
    t.equal(refused.json().error, "invalid_scope");
  });

  let current = secret;
  t.test("rotate-secret --grace 60 prints a new secret; the old one works until the grace ends", async (t) => {
    const { out, stdout } = await json<{ client_id: string; client_secret: string; previous_secret_expires_at: string | null }>(
      t, "clients", "rotate-secret", clientId, "--grace", "60",
    );
    t.same(Object.keys(out), ["client_id", "client_secret", "previous_secret_expires_at"], "what POST /admin/clients/:id/secret answers");
    t.equal(out.client_id, clientId);
    t.match(out.client_secret, SECRET);
    t.not(out.client_secret, secret);
    t.match(out.previous_secret_expires_at, ISO_TIME);
    t.notOk(stdout.includes(sha256(out.client_secret)));
    current = out.client_secret;

    // The CLI stamped the grace's end with the system clock; the app's clock is moved relative to that
    // stamp, not to when the app started (on a loaded machine the CLI may run seconds later).
    const graceEndsMs = Date.parse(out.previous_secret_expires_at!);
    t.ok(graceEndsMs - clock.now() > 0, "the grace ends after the app's now");
    clock.advance((graceEndsMs - 1000 - clock.now()) / 1000);
    await app.services.clients.refresh();
    t.equal((await tokenRequest(app, clientId, current)).statusCode, 200, "the new secret works");
    t.equal((await tokenRequest(app, clientId, secret)).statusCode, 200, "the old one still works a second before the grace ends");
    clock.advance(2);
    t.equal((await tokenRequest(app, clientId, secret)).statusCode, 401, "and not after it");
    t.equal((await tokenRequest(app, clientId, current)).statusCode, 200);
  });

  t.test("disable stops the client", async (t) => {
    const { out } = await json<ClientJson>(t, "clients", "disable", clientId);
    t.same(Object.keys(out), CLIENT_FIELDS);
    t.equal(out.client_id, clientId);
    t.equal(out.enabled, false);
    await app.services.clients.refresh();
    const res = await tokenRequest(app, clientId, current);
    t.equal(res.statusCode, 401);
    t.equal(res.json().error, "invalid_client");
  });

  t.test("delete removes it; show of the deleted id fails clearly", async (t) => {
    const run = await tessera("clients", "delete", clientId);
    t.equal(run.code, 0, run.stderr);
    const show = await tessera("clients", "show", clientId, "--json");
    t.not(show.code, 0);
    t.equal(show.stdout, "");
    t.match(show.stderr, new RegExp(`client ${clientId} not found`));
    await app.services.clients.refresh();
    t.equal((await tokenRequest(app, clientId, current)).statusCode, 401);
  });
});

t.test("bad flag values exit non-zero with a message naming the flag and create nothing", async (t) => {
  const base = ["clients", "create", "--name", "Bad", "--audience", "https://api.acme.test", "--grant", "client_credentials"];
  const cases: Array<[string, string[], RegExp[]]> = [
    ["--grant password without --first-party", ["clients", "create", "--name", "Bad", "--audience", "https://api.acme.test", "--grant", "password"], [/\bgrant\b/, /first-party/]],
    ["--audience that is not a URI", [...base.slice(0, 4), "--audience", "not-a-uri", "--grant", "client_credentials"], [/\baudience\b/, /not-a-uri/]],
    ["a missing --name", ["clients", "create", "--audience", "https://api.acme.test", "--grant", "client_credentials"], [/--name/]],
    ["--token-ttl that is not a number", [...base, "--token-ttl", "ten"], [/token-ttl/]],
    ["an unknown flag", [...base, "--colour", "blue"], [/--colour/]],
  ];
  const runs = await Promise.all(cases.map(([, args]) => tessera(...args, "--json")));
  cases.forEach(([name, , patterns], i) => {
    const run = runs[i]!;
    t.not(run.code, 0, `${name}: exits non-zero`);
    t.equal(run.stdout, "", `${name}: prints nothing on stdout`);
    for (const pattern of patterns) t.match(run.stderr, pattern, `${name}: says ${pattern}`);
    t.notMatch(run.stderr, /\n\s+at /, `${name}: no stack trace`);
  });
  const { out } = await json<ClientJson[]>(t, "clients", "list");
  t.same(out.filter((c) => c.client_name === "Bad"), [], "no client was created");
});
