// `tessera users create|set-password|disable|list`, run as real processes on a fresh database, with
// the effect checked through an app on the same database. Passwords go in on stdin, never in argv.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { SettableClock } from "../helpers/clock.js";
import { freshDatabaseUrl } from "../helpers/database.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Nine real processes, each starting tsx and Prisma: on a busy machine more than the default 120 s.
t.setTimeout(300_000);

const url = await freshDatabaseUrl(t);
// The app migrates the database first; the CLI then works on the same one, as an admin would.
// On the system clock, as the CLI is: set-password blocklists the access tokens that are live by its clock.
const { app, createClient } = await buildTestApp(t, { DATABASE_URL: url }, new SettableClock(Date.now()));
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });

/** Runs `tessera users …` with `stdin` piped in. */
function users(args: string[], stdin = ""): Promise<CliRun> {
  const { NODE_OPTIONS: _instrumentation, ...env } = process.env;
  return runCli(["users", ...args], {
    env: {
      ...env,
      DATABASE_URL: url,
      TESSERA_KEK: randomBytes(32).toString("base64"),
      TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek"),
    },
    stdin,
  });
}

const passwordGrant = (username: string, password: string) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "password", username, password }),
  });

const storedUsers = () => app.services.db.user.findMany({ orderBy: { username: "asc" } });

let aliceId = "";

t.test("create reads the password from stdin and prints {id, username} as JSON, without the hash", async (t) => {
  const run = await users(["create", "--username", "alice", "--password-stdin", "--json"], "first-password-1\n");
  t.equal(run.code, 0, run.stderr);
  const printed = JSON.parse(run.stdout) as Record<string, unknown>;
  t.match(printed.id, UUID);
  t.equal(printed.username, "alice");
  t.notOk("passwordHash" in printed, "no hash field");
  for (const [name, text] of [["stdout", run.stdout], ["stderr", run.stderr]] as const) {
    t.notOk(text.includes("$argon2"), `no hash on ${name}`);
    t.notOk(text.includes("first-password-1"), `no password on ${name}`);
  }
  aliceId = String(printed.id);

  const [stored] = (await storedUsers()).filter((u) => u.username === "alice");
  t.equal(stored?.id, aliceId);
  t.match(stored?.passwordHash, /^\$argon2id\$/, "stored as an argon2id hash");
  t.equal(stored?.enabled, true);
  t.equal((await passwordGrant("alice", "first-password-1")).statusCode, 200, "the trailing newline is not part of the password");
});

t.test("create with a username that is taken fails and changes nothing", async (t) => {
  const run = await users(["create", "--username", "alice", "--password-stdin", "--json"], "other-password-1\n");
  t.not(run.code, 0);
  t.match(run.stderr, /taken/);
  t.equal(run.stdout, "");
  t.equal((await storedUsers()).filter((u) => u.username === "alice").length, 1);
  t.equal((await passwordGrant("alice", "first-password-1")).statusCode, 200, "the original password still works");
  t.equal((await passwordGrant("alice", "other-password-1")).statusCode, 400);
});

t.test("create with a password shorter than 8 characters fails", async (t) => {
  const run = await users(["create", "--username", "shorty", "--password-stdin", "--json"], "short\n");
  t.not(run.code, 0);
  t.match(run.stderr, /password/);
  t.equal((await storedUsers()).filter((u) => u.username === "shorty").length, 0);
});

t.test("a password on the command line (--password) is refused as an unknown option", async (t) => {
  const run = await users(["create", "--username", "argv", "--password", "argv-password-1", "--json"]);
  t.not(run.code, 0);
  t.match(run.stderr, /unknown option/i);
  t.match(run.stderr, /--password/);
  t.equal((await storedUsers()).filter((u) => u.username === "argv").length, 0, "no user created");
});

t.test("without --password-stdin, a stdin that is not a terminal is refused (no prompt possible)", async (t) => {
  const run = await users(["create", "--username", "piped", "--json"], "piped-password-1\n");
  t.not(run.code, 0);
  t.match(run.stderr, /--password-stdin/);
  t.equal((await storedUsers()).filter((u) => u.username === "piped").length, 0);
});

const introspect = (token: string) =>
  app.inject({
    method: "POST",
    url: "/introspect",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ token }),
  });

t.test("set-password replaces the password: the old one fails, the new one works", async (t) => {
  // alice's session from before the change (OWASP: a password change ends every session)
  const session = (await passwordGrant("alice", "first-password-1")).json() as { access_token: string; refresh_token: string };
  t.equal((await introspect(session.access_token)).json().active, true, "before: the access token is active");
  const run = await users(["set-password", "--username", "alice", "--password-stdin", "--json"], "second-password-2\n");
  t.equal(run.code, 0, run.stderr);
  const printed = JSON.parse(run.stdout) as Record<string, unknown>;
  t.equal(printed.id, aliceId);
  t.equal(printed.username, "alice");
  t.notOk(run.stdout.includes("$argon2"));

  const old = await passwordGrant("alice", "first-password-1");
  t.equal(old.statusCode, 400);
  t.equal(old.json().error, "invalid_grant");
  const fresh = await passwordGrant("alice", "second-password-2");
  t.equal(fresh.statusCode, 200);
  t.match(fresh.json().refresh_token, /^[A-Za-z0-9_-]{43}$/);

  t.same((await introspect(session.access_token)).json(), { active: false }, "the old session's access token is blocklisted");
  const refresh = await app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "refresh_token", refresh_token: session.refresh_token }),
  });
  t.equal(refresh.statusCode, 400);
  t.same(refresh.json(), { error: "invalid_grant", error_description: "refresh token expired or revoked" }, "the old session's refresh token is revoked");
});

t.test("set-password for an unknown user fails", async (t) => {
  const run = await users(["set-password", "--username", "nobody", "--password-stdin"], "nobody-password-1\n");
  t.not(run.code, 0);
  t.match(run.stderr, /nobody/);
  t.equal((await storedUsers()).filter((u) => u.username === "nobody").length, 0);
});

t.test("disable: sign-in fails at /token and /login, and existing refresh tokens stop working", async (t) => {
  const before = await passwordGrant("alice", "second-password-2");
  t.equal(before.statusCode, 200);
  const refreshToken = before.json().refresh_token;

  const run = await users(["disable", "--username", "alice", "--json"]);
  t.equal(run.code, 0, run.stderr);
  const printed = JSON.parse(run.stdout) as Record<string, unknown>;
  t.equal(printed.username, "alice");
  t.equal(printed.enabled, false);

  const grant = await passwordGrant("alice", "second-password-2");
  t.equal(grant.statusCode, 400);
  t.equal(grant.json().error, "invalid_grant");
  const login = await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "second-password-2", client_id: web.clientId } });
  t.equal(login.statusCode, 400);
  t.equal(login.json().error, "invalid_grant");
  const refresh = await app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: refreshToken } });
  t.equal(refresh.statusCode, 400);
  t.equal(refresh.json().error, "invalid_grant");
});

t.test("list --json prints every user with id, username and enabled, and no hash", async (t) => {
  const run = await users(["list", "--json"]);
  t.equal(run.code, 0, run.stderr);
  const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
  t.same(listed, [{ id: aliceId, username: "alice", enabled: false }], "only alice: the refused commands created no one");
  t.notOk(run.stdout.includes("$argon2"));
});

t.test("enable: the disabled user signs in again with her password", async (t) => {
  const run = await users(["enable", "--username", "alice", "--json"]);
  t.equal(run.code, 0, run.stderr);
  t.same(JSON.parse(run.stdout), { id: aliceId, username: "alice", enabled: true });
  t.equal((await passwordGrant("alice", "second-password-2")).statusCode, 200);
});

t.test("sessions, end-sessions and delete", async (t) => {
  await app.services.users.create("frank", "frank-password-1");
  const signIn = async () => (await passwordGrant("frank", "frank-password-1")).json() as { access_token: string; refresh_token: string };
  const first = await signIn();
  const second = await signIn();
  const introspect = async (token: string) =>
    (
      await app.inject({
        method: "POST",
        url: "/introspect",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
        payload: form({ token }),
      })
    ).json() as { active: boolean };

  t.test("sessions --json lists the user's refresh families as the admin API does", async (t) => {
    const run = await users(["sessions", "--username", "frank", "--json"]);
    t.equal(run.code, 0, run.stderr);
    const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
    t.equal(listed.length, 2);
    t.same(Object.keys(listed[0]!).sort(), ["client_id", "client_name", "created_at", "expires_at", "id", "last_used_at"]);
    t.equal(listed[0]!.client_id, web.clientId);
    t.notOk(run.stdout.includes(first.refresh_token));
  });

  t.test("end-sessions revokes the families and their live access tokens, and is audited", async (t) => {
    t.equal((await introspect(first.access_token)).active, true);
    const run = await users(["end-sessions", "--username", "frank", "--json"]);
    t.equal(run.code, 0, run.stderr);
    t.same(JSON.parse(run.stdout), { sessions_ended: 2 });
    t.same(await introspect(first.access_token), { active: false });
    t.same(await introspect(second.access_token), { active: false });
    const refresh = await app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: second.refresh_token } });
    t.equal(refresh.statusCode, 400);
    const [event] = await app.services.audit.list(1);
    t.match(event, { actor: "cli", action: "user.end_sessions", details: { username: "frank", sessionsEnded: 2 } });
  });

  t.test("delete ends the sessions and deletes the user", async (t) => {
    const third = await signIn();
    const frank = await app.services.users.byUsername("frank");
    const run = await users(["delete", "--username", "frank", "--json"]);
    t.equal(run.code, 0, run.stderr);
    t.same(JSON.parse(run.stdout), { deleted: frank.id });
    t.same(await introspect(third.access_token), { active: false });
    t.equal((await storedUsers()).filter((u) => u.username === "frank").length, 0);
    t.equal((await passwordGrant("frank", "frank-password-1")).statusCode, 400);
    const [event] = await app.services.audit.list(1);
    t.match(event, { actor: "cli", action: "user.delete", target: `user:${frank.id}`, details: { username: "frank", sessionsEnded: 1 } });
  });

  t.test("delete of an unknown user fails with exit code 3", async (t) => {
    const run = await users(["delete", "--username", "frank"]);
    t.equal(run.code, 3);
    // the last line (other lines, such as which database was opened, may come before it)
    t.match(run.stderr, /(^|\n)tessera: user frank not found\n$/);
  });
});
