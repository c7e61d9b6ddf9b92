// SQLite with another writer holding the database (the CLI, `tessera prune`, a second connection):
// the server waits only briefly for the lock (better-sqlite3 waits synchronously, blocking the event
// loop), then answers 503 temporarily_unavailable with Retry-After, consuming nothing; once the lock
// is released the same requests succeed.
import t, { type Test } from "tap";
import Database from "better-sqlite3";
import type { LightMyRequestResponse } from "fastify";
import { SQLITE_SERVER_BUSY_TIMEOUT_MS } from "../../src/storage/prisma.js";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { TEST_PROVIDER } from "../helpers/database.js";
import { FORM } from "../helpers/oauth.js";

function expectUnavailable(t: Test, res: LightMyRequestResponse, what: string): void {
  t.equal(res.statusCode, 503, `${what}: 503 (answer: ${res.body})`);
  t.same(res.json(), { error: "temporarily_unavailable", error_description: "the database is unavailable; retry shortly" }, `${what}: OAuth error body`);
  t.equal(res.headers["retry-after"], "2", `${what}: Retry-After`);
  t.equal(res.headers["cache-control"], "no-store", `${what}: no-store`);
}

if (TEST_PROVIDER !== "sqlite") {
  t.comment("SQLite only: PostgreSQL has row locks and no database-wide write lock");
} else {
  const { app, config, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h" });
  const service = await createClient();
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
  await app.services.users.create("alice", "alice-password-1");

  const post = (url: string, creds: { clientId: string; clientSecret: string }, params: Record<string, string>) =>
    app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });
  const signIn = await post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1" });
  const refreshToken: string = signIn.json().refresh_token;
  const accessToken: string = (await post("/token", service, { grant_type: "client_credentials" })).json().access_token;
  const adminToken: string = (await post("/token", admin, { grant_type: "client_credentials", scope: "admin" })).json().access_token;

  const requests: Record<string, () => Promise<LightMyRequestResponse>> = {
    "refresh rotation (POST /token)": () => post("/token", web, { grant_type: "refresh_token", refresh_token: refreshToken }),
    "sign-in (POST /login)": () =>
      app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "alice-password-1", client_id: web.clientId } }),
    "revocation (POST /revoke)": () => post("/revoke", service, { token: accessToken }),
    "client registration (POST /admin/clients)": () =>
      app.inject({ method: "POST", url: "/admin/clients", headers: { authorization: `Bearer ${adminToken}` }, payload: { name: "x", grant_types: ["client_credentials"], audiences: ["https://api.example.test"] } }),
  };

  t.test("the server's connection waits for a lock at most briefly", async (t) => {
    const [row] = await app.services.db.$queryRawUnsafe<{ timeout: number | bigint }[]>("PRAGMA busy_timeout");
    t.equal(Number(row?.timeout), SQLITE_SERVER_BUSY_TIMEOUT_MS);
    t.ok(SQLITE_SERVER_BUSY_TIMEOUT_MS <= 250, "a fraction of a second, not better-sqlite3's default of 5 s");
  });

  t.test("while another connection holds the write lock: 503 temporarily_unavailable with Retry-After", async (t) => {
    const other = new Database(config.databaseUrl.replace(/^file:/, ""));
    t.teardown(() => other.close());
    other.exec("BEGIN IMMEDIATE"); // what a CLI write holds while it runs
    try {
      for (const [what, request] of Object.entries(requests)) expectUnavailable(t, await request(), what);
      const health = await app.inject({ method: "GET", url: "/healthz" });
      t.equal(health.statusCode, 200, "the server stays up");
      t.equal((await post("/token", service, { grant_type: "client_credentials" })).statusCode, 200, "client credentials need no write");
    } finally {
      other.exec("ROLLBACK");
    }
  });

  t.test("once the lock is released the same requests succeed (nothing was consumed)", async (t) => {
    for (const [what, request] of Object.entries(requests)) {
      const res = await request();
      t.equal(res.statusCode, what.startsWith("client registration") ? 201 : 200, `${what} (answer: ${res.body.slice(0, 200)})`);
    }
  });
}
