// A retired key stays in the JWKS until every token it signed has expired, plus CLOCK_SKEW, whatever
// happened to the lifetimes since: each key stores the latest expiry it may have signed
// (tokensExpireBy, raised before an instance signs past it). The four ways the old rule (linger =
// today's longest lifetime) unpublished a key whose tokens were still valid, each checked the way a
// resource server sees it: the token verifies against the served JWKS until its exp. Then the cost on
// the token path: no database write per token.
import t, { type Test } from "tap";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { systemClock } from "../../../src/domain/clock.js";
import { LEASE_AHEAD_SECONDS } from "../../../src/domain/keys/key-ring.js";
import { basic, buildTestApp, COUNT_QUERIES, form, queryLogs, testConfig, type TestApp } from "../../helpers/app.js";
import { runCli } from "../../helpers/cli.js";
import { SettableClock } from "../../helpers/clock.js";
import { FORM } from "../../helpers/oauth.js";
import { storedSigningKeys } from "../../helpers/stored-keys.js";

// Several apps and one CLI process (compiling with tsx): slow on a busy machine.
t.setTimeout(300_000);

const QUIET = { CACHE_REFRESH: "1h" }; // no background reloads: the tests call refresh() themselves
const SKEW = 60; // CLOCK_SKEW default
const LONG = 3600; // the long lifetime the tokens below were issued with
const AUDIENCE = "https://api.example.test";

type App = TestApp["app"];
type Creds = { clientId: string; clientSecret: string };

async function accessToken(app: App, creds: Creds): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "client_credentials" }),
  });
  if (res.statusCode !== 200) throw new Error(`/token answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { access_token: string }).access_token;
}

async function servedJwks(app: App): Promise<JSONWebKeySet> {
  await app.services.keys.refresh();
  return JSON.parse((await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body) as JSONWebKeySet;
}

/** Whether a resource server holding the served JWKS accepts `token` at the app's current time. */
async function verifies(app: App, token: string, nowMs: number): Promise<boolean> {
  const jwks = await servedJwks(app);
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: app.services.config.issuer, audience: AUDIENCE, currentDate: new Date(nowMs) }).then(
    () => true,
    () => false,
  );
}

/** Signs a LONG token with the first key, then rotates --now: the first key is retired. */
async function longTokenThenRotate(app: App, creds: Creds) {
  const token = await accessToken(app, creds);
  const kid = decodeProtectedHeader(token).kid!;
  await app.services.keyAdmin.rotate("test", true);
  await app.services.keys.refresh();
  if (app.services.keys.signer?.kid === kid) throw new Error("the rotation did not take over");
  return { token, kid, expMs: decodeJwt(token).exp! * 1000 };
}

/** The old key is published, and the token verifies, one second before the token's exp. */
async function checkLivesToItsExp(t: Test, app: App, clock: SettableClock, token: string, kid: string, expMs: number) {
  clock.advance((expMs - 1000 - clock.now()) / 1000);
  t.ok((await servedJwks(app)).keys.some((k) => k.kid === kid), "the retired key is still published one second before the token's exp");
  t.equal(await verifies(app, token, clock.now()), true, "a resource server still verifies the token");
  t.same(await app.services.keyAdmin.prune("test"), [], "prune keeps the key");
  const stored = (await storedSigningKeys(app.services.config.databaseUrl)).find((k) => k.kid === kid)!;
  clock.advance((stored.tokensExpireBy!.getTime() + SKEW * 1000 - clock.now()) / 1000);
  t.notOk((await servedJwks(app)).keys.some((k) => k.kid === kid), "gone at its stored bound + CLOCK_SKEW");
  t.same(await app.services.keyAdmin.prune("test"), [kid], "and pruned");
}

t.test("lowering a client's token lifetime does not unpublish the key of its live tokens", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient({ tokenTtlSeconds: LONG });
  await app.services.clients.refresh();
  const { token, kid, expMs } = await longTokenThenRotate(app, creds);
  t.equal(expMs, clock.now() + LONG * 1000);

  await app.services.clientAdmin.update(creds.clientId, { tokenTtlSeconds: 60 });
  t.equal(app.services.clients.get(creds.clientId)?.tokenTtlSeconds, 60);
  await checkLivesToItsExp(t, app, clock, token, kid, expMs);
});

t.test("deleting a long-lived client does not unpublish the key of its live tokens", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient({ tokenTtlSeconds: LONG });
  await app.services.clients.refresh();
  const { token, kid, expMs } = await longTokenThenRotate(app, creds);

  await app.services.clientAdmin.delete(creds.clientId);
  t.equal(app.services.clients.get(creds.clientId), undefined);
  await checkLivesToItsExp(t, app, clock, token, kid, expMs);
});

t.test("lowering ACCESS_TOKEN_TTL on a restart does not unpublish the key of live tokens", async (t) => {
  const base = await testConfig(t);
  const env = { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const clock = new SettableClock();
  const before = await buildTestApp(t, { ...env, ACCESS_TOKEN_TTL: String(LONG) }, clock);
  const creds = await before.createClient();
  const { token, kid, expMs } = await longTokenThenRotate(before.app, creds);
  t.equal(expMs, clock.now() + LONG * 1000);
  await before.app.close();

  const after = await buildTestApp(t, { ...env, ACCESS_TOKEN_TTL: "60" }, clock);
  t.equal(after.config.accessTokenTtlSeconds, 60);
  await checkLivesToItsExp(t, after.app, clock, token, kid, expMs);
});

t.test("tessera keys prune run with another environment (default ACCESS_TOKEN_TTL) keeps the key of live tokens", async (t) => {
  // The app's clock is 1000 s behind the real one, on which the CLI runs: its ACCESS_TOKEN_TTL=3600
  // token is still valid for the CLI, while the old rule (retired 1000 s ago + 900 s + 60 s) says gone.
  const clock = new SettableClock(systemClock.now() - 1000_000);
  const { app, config, createClient } = await buildTestApp(t, { ...QUIET, ACCESS_TOKEN_TTL: String(LONG) }, clock);
  const creds = await createClient();
  const { token, kid, expMs } = await longTokenThenRotate(app, creds);
  t.ok(expMs > systemClock.now() + 60_000, "the token is valid in real time");

  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek!, TESSERA_ISSUER: config.issuer };
  delete env.ACCESS_TOKEN_TTL;
  const pruned = await runCli(["keys", "prune", "--json"], { env });
  t.equal(pruned.code, 0, pruned.stderr);
  t.same(JSON.parse(pruned.stdout), { removed: [] }, "nothing removed");
  t.ok((await storedSigningKeys(config.databaseUrl)).some((k) => k.kid === kid), "the key is still stored");
  t.equal(await verifies(app, token, clock.now()), true, "and the token still verifies against the JWKS");
});

t.test("a key stored before migration 0007 (no bound) lingers by the old rule: the longest lifetime now + CLOCK_SKEW", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient();
  const { kid } = await longTokenThenRotate(app, creds);
  const retiredAt = clock.now();
  // What 0007 leaves on the rows it finds. Every write to the table bumps its version.
  await app.services.db.$transaction([
    app.services.db.signingKey.updateMany({ where: { kid }, data: { tokensExpireBy: null } }),
    app.services.db.cacheVersion.update({ where: { name: "signing_keys" }, data: { version: { increment: 1 } } }),
  ]);
  clock.advance(900 + SKEW - 1);
  t.ok((await servedJwks(app)).keys.some((k) => k.kid === kid), "published until ACCESS_TOKEN_TTL + CLOCK_SKEW after it stopped signing");
  clock.advance(1);
  t.notOk((await servedJwks(app)).keys.some((k) => k.kid === kid), "then gone");
  t.equal(clock.now(), retiredAt + (900 + SKEW) * 1000);
});

t.test(`tokens signed over an hour, one every 10 s, write the key's bound once per ${LEASE_AHEAD_SECONDS + 10} s, not per token`, async (t) => {
  const { app, clock, logs, createClient } = await buildTestApp(t, COUNT_QUERIES);
  const creds = await createClient();
  const kid = app.services.keys.signer!.kid;
  const startedAt = clock.now();
  const boundWrites = () => queryLogs(logs).filter((q) => /^UPDATE \S*SigningKey\W* SET/.test(String(q.sql))).length;
  const before = boundWrites();
  for (let i = 1; i <= 360; i++) {
    clock.advance(10);
    t.equal(decodeProtectedHeader(await accessToken(app, creds)).kid, kid);
  }
  // Start-up stored start + 900 + 300 s. A token at start + 10k s (exp + 900 s) needs a raise once
  // 10k + 900 > the bound, which then becomes 10k + 900 + 300: at k = 31, 62, ..., 341.
  t.equal(boundWrites() - before, 11, "11 writes for 360 tokens");
  const stored = (await storedSigningKeys(app.services.config.databaseUrl)).find((k) => k.kid === kid)!;
  t.equal(stored.tokensExpireBy!.getTime(), startedAt + (3410 + 900 + LEASE_AHEAD_SECONDS) * 1000);
});

t.test("twenty signers asked for at once when the bound runs short share one write", async (t) => {
  const { app, clock, logs } = await buildTestApp(t, COUNT_QUERIES);
  const ring = app.services.keys;
  const boundWrites = () => queryLogs(logs).filter((q) => /^UPDATE \S*SigningKey\W* SET/.test(String(q.sql))).length;
  const before = boundWrites();
  clock.advance(LEASE_AHEAD_SECONDS + 1); // no poll ran: the start-up bound no longer covers now + 900 s
  const expMs = clock.now() + 900_000;
  t.equal(ring.signerFor(expMs), null, "not covered: the caller must wait for a write");
  // All twenty ask in the same tick, as requests arriving together would, before any write is done.
  const signers = await Promise.all(Array.from({ length: 20 }, () => ring.signerCovering(expMs)));
  t.same(new Set(signers.map((s) => s?.kid)), new Set([ring.signer!.kid]));
  t.equal(boundWrites() - before, 1, "one write, shared by the twenty");
  t.equal(ring.signerFor(expMs)?.kid, ring.signer!.kid, "covered now, without I/O");
});

t.test("an instance that missed a retirement and a prune does not sign with the deleted key: it reloads and signs with the new one", async (t) => {
  const base = await testConfig(t);
  const env = { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const clock = new SettableClock();
  const a = await buildTestApp(t, env, clock);
  const b = await buildTestApp(t, env, clock);
  const creds = await a.createClient();
  await b.app.services.clients.refresh();
  const oldKid = b.app.services.keys.signer!.kid;

  const created = await a.app.services.keyAdmin.rotate("test", true);
  await a.app.services.keys.refresh();
  clock.advance(900 + LEASE_AHEAD_SECONDS + SKEW); // past the old key's bound + skew
  await a.app.services.keys.refresh();
  t.same(await a.app.services.keyAdmin.prune("test"), [oldKid], "A prunes the old key");
  t.equal(b.app.services.keys.signer?.kid, oldKid, "B has not reloaded: it still holds the old key");

  const token = await accessToken(b.app, creds);
  t.equal(decodeProtectedHeader(token).kid, created.kid, "B could not raise the deleted key's bound, reloaded, and signed with the new key");
  t.equal(await verifies(a.app, token, clock.now()), true, "A's JWKS verifies it");
});
