// The database going away while requests flow (PostgreSQL: a TCP proxy cuts the link; SQLite: another
// process holds the write lock): requests that need it answer 503 temporarily_unavailable within
// bounded time, the ones served from memory keep working, the server recovers by itself, and nothing
// committed is lost.
import Database from "better-sqlite3";
import t from "tap";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";
import { ath, dpopKey, dpopProof } from "../helpers/dpop.js";
import { FORM } from "../helpers/oauth.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

/** GET /userinfo with the DPoP scheme and a good proof: on PostgreSQL its jti goes to the replay table, a write. */
async function userInfoWithProof(app: Awaited<ReturnType<typeof buildTestApp>>["app"]) {
  const key = await dpopKey();
  const token = "any.access.token"; // the proof is checked (and recorded) before the token
  const proof = await dpopProof(key, { nowSeconds: app.services.clock.now() / 1000, htm: "GET", htu: `${app.services.config.issuer}/userinfo`, ath: ath(token) });
  return app.inject({ method: "GET", url: "/userinfo", headers: { authorization: `DPoP ${token}`, dpop: proof } });
}

// Each half sets up inside a subtest, not at the top level: in CI on a loaded machine tap twice ended
// the root test while a top-level await of the SQLite setup was pending (app.inject holds no socket),
// and its teardown removed the database directory under the next line.
if (TEST_PROVIDER !== "postgresql") {
  // SQLite has no link to cut; its outage is a database another process holds locked (a backup,
  // `sqlite3` opened by hand, a second instance wrongly pointed at the same file). Writes then wait
  // the busy timeout and fail with SQLITE_BUSY: the answer is 503 temporarily_unavailable with
  // Retry-After, never a 500, and once the lock goes the server carries on by itself.
  t.test("SQLite: another process holds the write lock", async (t) => {
    const url = await freshDatabaseUrl(t);
    const { app, createClient } = await buildTestApp(t, { DATABASE_URL: url });
    const service = await createClient();
    const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
    await app.services.users.create("alice", "alice-password-1");
    const post = (path: string, creds: { clientId: string; clientSecret: string }, params: Record<string, string>) =>
      app.inject({ method: "POST", url: path, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });
    const signIn = await post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1" });
    t.equal(signIn.statusCode, 200);
    const committed = signIn.json() as { refresh_token: string };
    // Before the outage: this instance reserves the client's block of status-list entries (one write
    // per block), from which its tokens are then numbered in memory.
    t.equal((await post("/token", service, { grant_type: "client_credentials" })).statusCode, 200);
    const unreserved = await createClient();

    const other = new Database(url.slice("file:".length));
    t.teardown(() => other.close());

    await t.test("while another connection holds the write lock", async (t) => {
      other.exec("BEGIN EXCLUSIVE");
      const refresh = await post("/token", web, { grant_type: "refresh_token", refresh_token: committed.refresh_token });
      t.equal(refresh.statusCode, 503, "a write (refresh rotation): 503");
      t.same(refresh.json(), { error: "temporarily_unavailable", error_description: "the database is unavailable; retry shortly" });
      t.equal(refresh.headers["retry-after"], "2");
      const token = await post("/token", service, { grant_type: "client_credentials" });
      t.equal(token.statusCode, 200, "client credentials are served from memory and keep working");
      const first = await post("/token", unreserved, { grant_type: "client_credentials" });
      t.equal(first.statusCode, 503, "a client with no reserved status-list block yet: reserving one is a write, 503");
      t.equal(first.headers["retry-after"], "2");
      const userinfo = await userInfoWithProof(app);
      t.equal(userinfo.statusCode, 401, "a DPoP proof at /userinfo: its jti is remembered in memory on SQLite, no write, so the made-up token is what fails");
      t.equal(userinfo.json().error, "invalid_token");
      t.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200, "/healthz: the process is alive");
      other.exec("ROLLBACK");
    });

    await t.test("after the lock is released, without a restart", async (t) => {
      const refresh = await post("/token", web, { grant_type: "refresh_token", refresh_token: committed.refresh_token });
      t.equal(refresh.statusCode, 200, "the refresh token still rotates (the failed attempt consumed nothing)");
    });
  });
} else {
  t.test("PostgreSQL: the link to the database is cut", async (t) => {
    const direct = new URL(await freshDatabaseUrl(t));
    const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    t.teardown(() => proxy.close());
    const viaProxy = new URL(direct);
    viaProxy.port = String(proxy.port);

    const { app, createClient } = await buildTestApp(t, { DATABASE_URL: viaProxy.toString() });
    const service = await createClient();
    const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
    await app.services.users.create("alice", "alice-password-1");

    const post = (url: string, creds: { clientId: string; clientSecret: string }, params: Record<string, string>) =>
      app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });
    const signIn = await post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1" });
    const committed = signIn.json() as { refresh_token: string; access_token: string };
    const revoked = (await post("/token", service, { grant_type: "client_credentials" })).json().access_token as string;
    t.equal((await post("/revoke", service, { token: revoked })).statusCode, 200, "a revocation committed before the outage");

    await t.test("while the link is cut", async (t) => {
      proxy.cut();
      const started = Date.now();
      const refresh = await post("/token", web, { grant_type: "refresh_token", refresh_token: committed.refresh_token });
      t.equal(refresh.statusCode, 503, "refresh: 503");
      t.same(refresh.json(), { error: "temporarily_unavailable", error_description: "the database is unavailable; retry shortly" });
      t.equal(refresh.headers["retry-after"], "2");
      t.ok(Date.now() - started < 30_000, "answered, not hung");
      t.equal((await post("/introspect", service, { token: revoked })).statusCode, 503, "introspection needs the blocklist: 503");
      t.equal((await userInfoWithProof(app)).statusCode, 503, "a DPoP proof at /userinfo needs the replay table: 503");
      t.equal((await app.inject({ method: "GET", url: "/readyz" })).statusCode, 503, "/readyz says not ready");
      t.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200, "/healthz: the process is alive");
      const token = await post("/token", service, { grant_type: "client_credentials" });
      t.equal(token.statusCode, 200, "client credentials are served from memory and keep working");
    });

    await t.test("after the link is restored, without a restart", async (t) => {
      proxy.restore();
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) ready = (await app.inject({ method: "GET", url: "/readyz" })).statusCode; // bounded
      t.equal(ready, 200, "/readyz recovers");
      const refresh = await post("/token", web, { grant_type: "refresh_token", refresh_token: committed.refresh_token });
      t.equal(refresh.statusCode, 200, "the refresh token committed before the outage still rotates (the failed attempt consumed nothing)");
      t.same((await post("/introspect", service, { token: revoked })).json(), { active: false }, "the revocation committed before the outage holds");
    });
  });
}
