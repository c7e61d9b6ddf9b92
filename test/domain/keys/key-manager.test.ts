// The signing-key lifecycle as a running tessera lives it: rotation (published first, signing after
// KEY_ACTIVATION_DELAY), the previous key's linger (until its stored tokensExpireBy, which covers every
// token it signed, plus CLOCK_SKEW), retirement, pruning, automatic rotation across instances, and
// other instances picking it all up.
// Time is a SettableClock; the pollers are slowed to an hour so that only refresh() moves the keys.
import t from "tap";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { systemClock } from "../../../src/domain/clock.js";
import { KeyManager } from "../../../src/domain/keys/key-manager.js";
import { LEASE_AHEAD_SECONDS } from "../../../src/domain/keys/key-ring.js";
import { NotFoundError, ValidationError } from "../../../src/errors/internal.js";
import { AuditRepository } from "../../../src/storage/audit.js";
import { applyMigrations } from "../../../src/storage/migrate.js";
import { openDb } from "../../../src/storage/prisma.js";
import { SigningKeyRepository } from "../../../src/storage/signing-keys.js";
import { basic, buildTestApp, form, testConfig, type TestApp } from "../../helpers/app.js";
import { runCli } from "../../helpers/cli.js";
import { SettableClock } from "../../helpers/clock.js";
import { FORM } from "../../helpers/oauth.js";
import { storedSigningKeys } from "../../helpers/stored-keys.js";

// Several apps per test and four CLI processes (each compiling with tsx): slow on a busy machine.
t.setTimeout(300_000);

const QUIET = { CACHE_REFRESH: "1h" }; // no background reloads: the tests call refresh() themselves
const TTL = 900; // ACCESS_TOKEN_TTL default
const SKEW = 60; // CLOCK_SKEW default
const DELAY = 300; // KEY_ACTIVATION_DELAY default = JWKS_MAX_AGE default
const ROTATION_INTERVAL = 30 * 86400; // KEY_ROTATION_INTERVAL default

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

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function jwksKids(app: App): Promise<string[]> {
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  return (JSON.parse(res.body) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
}

async function introspect(app: App, creds: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await app.inject({
    method: "POST",
    url: "/introspect",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ token }),
  });
  return res.json() as Record<string, unknown>;
}

/** "actor action target" of the audit events whose action starts with `prefix`, oldest first. */
async function auditLines(app: App, prefix: string): Promise<string[]> {
  return (await app.services.audit.list(200))
    .filter((e) => e.action.startsWith(prefix))
    .reverse()
    .map((e) => `${e.actor} ${e.action} ${e.target}`);
}

/** A key's stored tokensExpireBy, in ms. */
async function boundOf(app: App, kid: string): Promise<number> {
  const stored = (await storedSigningKeys(app.services.config.databaseUrl)).find((k) => k.kid === kid);
  return stored!.tokensExpireBy!.getTime();
}

/** Moves the clock to `ms` (forward only). */
const advanceTo = (clock: SettableClock, ms: number) => clock.advance((ms - clock.now()) / 1000);

/** "kid state published retiredSince(ms|null)" per key, oldest first. */
async function keyLines(app: App): Promise<string[]> {
  return (await app.services.keyAdmin.summaries()).map((k) => `${k.kid} ${k.state} ${k.published} ${k.retiredSince?.getTime() ?? null}`);
}

t.test("rotation: published at once, signs after KEY_ACTIVATION_DELAY, the old key lingers until its stored bound + CLOCK_SKEW, then prune", async (t) => {
  const { app, config, clock, createClient } = await buildTestApp(t, QUIET);
  t.equal(config.keyActivationDelaySeconds, DELAY, "the activation delay defaults to JWKS_MAX_AGE");
  const creds = await createClient();
  const oldKid = app.services.keys.signer!.kid;
  t.same(await jwksKids(app), [oldKid]);

  const rotatedAt = clock.now();
  const created = await app.services.keyAdmin.rotate("test");
  t.equal(created.state, "pending");
  t.equal(created.published, true);
  t.equal(created.activatesAt.getTime(), rotatedAt + DELAY * 1000, "activates KEY_ACTIVATION_DELAY after the rotation");
  t.not(created.kid, oldKid);
  const newKid = created.kid;

  await app.services.keys.refresh();
  t.same(await jwksKids(app), [oldKid, newKid], "the new key is in the JWKS at once");
  t.equal(kidOf(await accessToken(app, creds)), oldKid, "but the old key still signs");

  clock.advance(DELAY - 1);
  await app.services.keys.refresh();
  t.equal(kidOf(await accessToken(app, creds)), oldKid, "one second before the activation: still the old key");
  const lastOldToken = await accessToken(app, creds);

  clock.advance(1);
  await app.services.keys.refresh();
  const switchedAt = clock.now();
  const firstNewToken = await accessToken(app, creds);
  t.equal(kidOf(firstNewToken), newKid, "at the activation the new key signs");
  t.same(await jwksKids(app), [oldKid, newKid], "the old key is still published");
  t.same(await keyLines(app), [`${oldKid} retired true ${switchedAt}`, `${newKid} active true null`]);
  // The poll one second before the switch raised the old key's bound LEASE_AHEAD_SECONDS past the
  // longest lifetime: it covers the last token the old key signed.
  const bound = await boundOf(app, oldKid);
  t.equal(bound, switchedAt - 1000 + (TTL + LEASE_AHEAD_SECONDS) * 1000, "the stored bound: the last poll's lease");
  t.equal(decodeJwt(lastOldToken).exp! * 1000, switchedAt - 1000 + TTL * 1000, "the last old token expires within it");

  clock.advance(TTL - 2);
  await app.services.keys.refresh();
  t.match(await introspect(app, creds, lastOldToken), { active: true }, "the last token of the old key is alive until its exp");
  clock.advance(1);
  t.same(await introspect(app, creds, lastOldToken), { active: false }, "then it expires");

  advanceTo(clock, bound + (SKEW - 1) * 1000);
  await app.services.keys.refresh();
  t.same(await jwksKids(app), [oldKid, newKid], "published one second before its bound + skew");
  t.same(await app.services.keyAdmin.prune("test"), [], "prune leaves a key that is still published");
  t.equal((await storedSigningKeys(config.databaseUrl)).length, 2);

  clock.advance(1);
  await app.services.keys.refresh();
  t.equal(clock.now(), bound + SKEW * 1000);
  t.same(await jwksKids(app), [newKid], "gone from the JWKS at its bound + CLOCK_SKEW");
  t.same(await introspect(app, creds, firstNewToken), { active: false }, "(the new key's first token has expired too by now)");

  t.same(await app.services.keyAdmin.prune("test"), [oldKid], "prune removes it");
  t.same((await storedSigningKeys(config.databaseUrl)).map((k) => k.kid), [newKid], "from the table");
  t.same(await app.services.keyAdmin.prune("test"), [], "a second prune finds nothing");
  t.equal(app.services.keys.signer?.kid, newKid);

  t.same(await auditLines(app, "key."), [
    `tessera key.create key:${oldKid}`,
    `test key.create key:${newKid}`,
    `test key.prune key:${oldKid}`,
  ]);
});

t.test("KEY_ACTIVATION_DELAY follows JWKS_MAX_AGE unless set", async (t) => {
  t.test("JWKS_MAX_AGE=120 alone", async (t) => {
    const { app, config, clock } = await buildTestApp(t, { ...QUIET, JWKS_MAX_AGE: "120" });
    t.equal(config.keyActivationDelaySeconds, 120);
    const created = await app.services.keyAdmin.rotate("test");
    t.equal(created.activatesAt.getTime() - clock.now(), 120_000);
  });

  t.test("KEY_ACTIVATION_DELAY=10 wins", async (t) => {
    const { app, clock, createClient } = await buildTestApp(t, { ...QUIET, JWKS_MAX_AGE: "120", KEY_ACTIVATION_DELAY: "10" });
    const creds = await createClient();
    const created = await app.services.keyAdmin.rotate("test");
    t.equal(created.activatesAt.getTime() - clock.now(), 10_000);
    clock.advance(10);
    await app.services.keys.refresh();
    t.equal(kidOf(await accessToken(app, creds)), created.kid);
  });

  t.test("KEY_ACTIVATION_DELAY=0: a rotation signs at once", async (t) => {
    const { app, createClient } = await buildTestApp(t, { ...QUIET, KEY_ACTIVATION_DELAY: "0" });
    const creds = await createClient();
    const created = await app.services.keyAdmin.rotate("test");
    t.equal(created.state, "active");
    await app.services.keys.refresh();
    t.equal(kidOf(await accessToken(app, creds)), created.kid);
  });
});

t.test("rotate now: the new key signs at once, the previous one is retired but still published", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient();
  const oldKid = app.services.keys.signer!.kid;
  const oldToken = await accessToken(app, creds);

  const created = await app.services.keyAdmin.rotate("test", true);
  t.equal(created.state, "active");
  t.equal(created.activatesAt.getTime(), clock.now());
  await app.services.keys.refresh();
  t.equal(kidOf(await accessToken(app, creds)), created.kid);
  t.same(await jwksKids(app), [oldKid, created.kid]);
  t.match(await introspect(app, creds, oldToken), { active: true }, "tokens of the previous key still verify");
  t.same(await keyLines(app), [`${oldKid} retired true ${clock.now()}`, `${created.kid} active true null`]);
  t.equal(await boundOf(app, oldKid), clock.now() + (TTL + LEASE_AHEAD_SECONDS) * 1000, "the bound written at start-up");

  clock.advance(TTL + LEASE_AHEAD_SECONDS + SKEW - 1);
  await app.services.keys.refresh();
  t.same(await jwksKids(app), [oldKid, created.kid]);
  clock.advance(1);
  await app.services.keys.refresh();
  t.same(await jwksKids(app), [created.kid]);
});

t.test("a rotation --now over a pending key: the pending key never signs", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient();
  const pending = await app.services.keyAdmin.rotate("test");
  clock.advance(10);
  const forced = await app.services.keyAdmin.rotate("test", true);
  clock.advance(DELAY);
  await app.services.keys.refresh();
  t.equal(kidOf(await accessToken(app, creds)), forced.kid);
  const tenSecondsIn = clock.now() - DELAY * 1000;
  t.same((await keyLines(app)).slice(1), [`${pending.kid} retired false ${tenSecondsIn}`, `${forced.kid} active true null`], "it signed nothing: gone from the JWKS");
});

t.test("a token with a longer lifetime raises its key's bound before it is signed, and keeps the key published", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, QUIET);
  const longLived = await createClient({ tokenTtlSeconds: 3600 });
  await app.services.clients.refresh();
  const oldKid = app.services.keys.signer!.kid;
  t.equal(await boundOf(app, oldKid), clock.now() + (TTL + LEASE_AHEAD_SECONDS) * 1000, "the bound written at start-up");
  const longToken = await accessToken(app, longLived);
  t.equal(kidOf(longToken), oldKid);
  const bound = await boundOf(app, oldKid);
  t.equal(bound, clock.now() + (3600 + LEASE_AHEAD_SECONDS) * 1000, "raised before the 3600 s token was signed");

  await app.services.keyAdmin.rotate("test", true);
  await app.services.keys.refresh();
  clock.advance(TTL + SKEW);
  await app.services.keys.refresh();
  t.ok((await jwksKids(app)).includes(oldKid), "still published after ACCESS_TOKEN_TTL + CLOCK_SKEW");
  t.same(await app.services.keyAdmin.prune("test"), []);

  clock.advance(3600 - (TTL + SKEW) - 1);
  await app.services.keys.refresh();
  t.match(await introspect(app, longLived, longToken), { active: true }, "the 3600 s token of the old key still verifies at 3599 s");
  t.ok((await jwksKids(app)).includes(oldKid));

  advanceTo(clock, bound + (SKEW - 1) * 1000);
  await app.services.keys.refresh();
  t.ok((await jwksKids(app)).includes(oldKid), "published until its bound + CLOCK_SKEW");
  clock.advance(1);
  await app.services.keys.refresh();
  t.notOk((await jwksKids(app)).includes(oldKid), "then gone");
  t.same(await app.services.keyAdmin.prune("test"), [oldKid]);
});

t.test("retire KID", async (t) => {
  t.test("the active key with a pending successor: the successor takes over at once", async (t) => {
    const { app, clock, createClient } = await buildTestApp(t, QUIET);
    const creds = await createClient();
    const oldKid = app.services.keys.signer!.kid;
    const pending = await app.services.keyAdmin.rotate("test");
    const retired = await app.services.keyAdmin.retire(oldKid, "test");
    t.same([retired.kid, retired.state, retired.published, retired.retiredSince?.getTime()], [oldKid, "retired", true, clock.now()]);
    await app.services.keys.refresh();
    t.equal(kidOf(await accessToken(app, creds)), pending.kid, "the pending key signs now, before its activation time");
    t.equal((await storedSigningKeys(app.services.config.databaseUrl)).length, 2, "no extra key was made");
    advanceTo(clock, (await boundOf(app, oldKid)) + SKEW * 1000);
    await app.services.keys.refresh();
    t.same(await jwksKids(app), [pending.kid]);
  });

  t.test("the active key without a successor: a new key signs at once, never a gap", async (t) => {
    const { app, config, createClient } = await buildTestApp(t, QUIET);
    const creds = await createClient();
    const oldKid = app.services.keys.signer!.kid;
    await app.services.keyAdmin.retire(oldKid, "test");
    await app.services.keys.refresh();
    const stored = await storedSigningKeys(config.databaseUrl);
    t.equal(stored.length, 2);
    const newKid = stored[1]!.kid;
    t.equal(app.services.keys.signer?.kid, newKid);
    t.equal(kidOf(await accessToken(app, creds)), newKid);
    t.same(await jwksKids(app), [oldKid, newKid], "the retired key stays published for its tokens");
    t.same(await auditLines(app, "key."), [
      `tessera key.create key:${oldKid}`,
      `test key.create key:${newKid}`,
      `test key.retire key:${oldKid}`,
    ]);
  });

  t.test("a pending key: it never signs", async (t) => {
    const { app, clock, createClient } = await buildTestApp(t, QUIET);
    const creds = await createClient();
    const activeKid = app.services.keys.signer!.kid;
    const pending = await app.services.keyAdmin.rotate("test");
    t.equal((await app.services.keyAdmin.retire(pending.kid, "test")).state, "retired");
    clock.advance(DELAY);
    await app.services.keys.refresh();
    t.equal(kidOf(await accessToken(app, creds)), activeKid);
  });

  t.test("an unknown kid is NotFoundError, a retired one ValidationError", async (t) => {
    const { app } = await buildTestApp(t, QUIET);
    const oldKid = app.services.keys.signer!.kid;
    await t.rejects(app.services.keyAdmin.retire("no-such-kid", "test"), NotFoundError);
    await app.services.keyAdmin.retire(oldKid, "test");
    await t.rejects(app.services.keyAdmin.retire(oldKid, "test"), ValidationError);
    t.same(await auditLines(app, "key.retire"), [`test key.retire key:${oldKid}`], "only the successful retirement is audited");
  });
});

t.test("automatic rotation: rotateIfDue once the newest key is KEY_ROTATION_INTERVAL old", async (t) => {
  const { app, config, clock, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient();
  t.equal(config.keyRotationIntervalSeconds, ROTATION_INTERVAL);
  const oldKid = app.services.keys.signer!.kid;

  clock.advance(ROTATION_INTERVAL - 1);
  t.equal(await app.services.keyAdmin.rotateIfDue("tessera"), false, "not due one second early");
  clock.advance(1);
  t.equal(await app.services.keyAdmin.rotateIfDue("tessera"), true, "due at the interval");
  t.equal(await app.services.keyAdmin.rotateIfDue("tessera"), false, "and then not again");

  const keys = await app.services.keyAdmin.summaries();
  t.equal(keys.length, 2);
  t.same([keys[1]?.state, keys[1]?.published, keys[1]?.activatesAt.getTime()], ["pending", true, clock.now() + DELAY * 1000], "published before it signs, like a manual rotation");
  await app.services.keys.refresh();
  t.equal(kidOf(await accessToken(app, creds)), oldKid);
  clock.advance(DELAY);
  await app.services.keys.refresh();
  t.equal(kidOf(await accessToken(app, creds)), keys[1]!.kid);

  clock.advance(ROTATION_INTERVAL - DELAY - 1);
  t.equal(await app.services.keyAdmin.rotateIfDue("tessera"), false, "the interval counts from the newest key's creation");
  clock.advance(1);
  t.equal(await app.services.keyAdmin.rotateIfDue("tessera"), true);
});

t.test("several instances rotating automatically at the same moment make exactly one new key", async (t) => {
  const base = await testConfig(t);
  const env = { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const clock = new SettableClock();
  const apps = [await buildTestApp(t, env, clock), await buildTestApp(t, env, clock)];
  // Two more instances as an operator's tooling would build them: own connection, same table.
  const managers = [...apps.map(({ app }) => app.services.keyAdmin)];
  for (let i = 0; i < 2; i++) {
    const db = await openDb(base.databaseUrl);
    t.teardown(() => db.$disconnect());
    managers.push(new KeyManager({
      repo: new SigningKeyRepository(db),
      audit: new AuditRepository(db),
      kek: Buffer.from(base.kek!, "base64"),
      clock,
      alg: base.signingAlg,
      activationDelaySeconds: base.keyActivationDelaySeconds,
      rotationIntervalSeconds: base.keyRotationIntervalSeconds,
      clockSkewSeconds: SKEW,
      legacyLingerSeconds: () => TTL,
    }));
  }

  for (let round = 1; round <= 5; round++) {
    const before = await storedSigningKeys(base.databaseUrl);
    clock.advance(ROTATION_INTERVAL);
    const results = await Promise.all(managers.map((m, i) => m.rotateIfDue(`instance-${i}`)));
    const after = await storedSigningKeys(base.databaseUrl);
    t.equal(results.filter(Boolean).length, 1, `round ${round}: exactly one instance reports a rotation (${results.join(", ")})`);
    t.equal(after.length, before.length + 1, `round ${round}: exactly one new key in the table`);
    t.same(after.map((k) => k.generation), after.map((_, i) => i + 1), `round ${round}: generations 1..${after.length}, no gaps`);
  }
  const creates = await auditLines(apps[0]!.app, "key.create");
  t.equal(creates.length, 6, "one key.create per key: the first and one per round");
});

t.test("another instance on the same database picks up key changes on its next refresh", async (t) => {
  const base = await testConfig(t);
  const env = { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const clock = new SettableClock();
  const a = await buildTestApp(t, env, clock);
  const b = await buildTestApp(t, env, clock);
  const creds = await a.createClient();
  await b.app.services.clients.refresh();
  const oldKid = a.app.services.keys.signer!.kid;
  t.equal(b.app.services.keys.signer?.kid, oldKid, "both sign with the one key");

  const created = await a.app.services.keyAdmin.rotate("test");
  await a.app.services.keys.refresh();
  t.same(await jwksKids(b.app), [oldKid], "B has not looked yet");
  await b.app.services.keys.refresh();
  t.same(await jwksKids(b.app), [oldKid, created.kid], "B publishes A's new key after one refresh");
  const bBody = (await b.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body;
  const aBody = (await a.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body;
  t.equal(bBody, aBody, "byte-identical JWKS on both instances");

  clock.advance(DELAY);
  await a.app.services.keys.refresh();
  await b.app.services.keys.refresh();
  const fromA = await accessToken(a.app, creds);
  const fromB = await accessToken(b.app, creds);
  t.equal(kidOf(fromA), created.kid);
  t.equal(kidOf(fromB), created.kid, "B switches at the same instant");
  t.match(await introspect(b.app, creds, fromA), { active: true }, "B verifies A's tokens");
  t.match(await introspect(a.app, creds, fromB), { active: true }, "A verifies B's tokens");

  const retired = await b.app.services.keyAdmin.retire(created.kid, "test");
  t.equal(retired.state, "retired");
  await a.app.services.keys.refresh();
  const replacement = a.app.services.keys.signer!.kid;
  t.not(replacement, created.kid, "A stops signing with the key B retired");
  t.notOk([oldKid, created.kid].includes(replacement));
  await b.app.services.keys.refresh();
  t.equal(b.app.services.keys.signer?.kid, replacement);
});

t.test("tessera keys rotate --now | retire KID | prune as an operator runs them", async (t) => {
  // The app's clock is two hours behind the real one, on which the CLI runs: the first key's tokens
  // are long expired for the CLI; the second key signed a 3 h token, still valid.
  const clock = new SettableClock(systemClock.now() - 7200_000);
  const { app, config, createClient } = await buildTestApp(t, QUIET, clock);
  const env = { ...process.env, DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek!, TESSERA_ISSUER: config.issuer };
  const tessera = (...args: string[]) => runCli([...args, "--json"], { env });

  const firstKid = app.services.keys.signer!.kid;
  await app.services.keyAdmin.rotate("test", true); // firstKid is retired at the (past) test time
  await app.services.keys.refresh();
  const secondKid = app.services.keys.signer!.kid;
  const longLived = await createClient({ tokenTtlSeconds: 3 * 3600 });
  await app.services.clients.refresh();
  t.equal(kidOf(await accessToken(app, longLived)), secondKid);
  const secondBound = await boundOf(app, secondKid);
  t.ok(secondBound > systemClock.now(), "the second key's bound is in the CLI's future");

  const retired = await tessera("keys", "retire", secondKid);
  t.equal(retired.code, 0, retired.stderr);
  t.match(JSON.parse(retired.stdout), { kid: secondKid, state: "retired", published: true, publishedUntil: new Date(secondBound + SKEW * 1000).toISOString() }, "retired, published while its token lives");
  const [, , thirdKey] = await storedSigningKeys(config.databaseUrl);
  t.ok(thirdKey, "retiring the signing key made its successor");
  const thirdKid = thirdKey!.kid;

  const pruned = await tessera("keys", "prune");
  t.equal(pruned.code, 0, pruned.stderr);
  t.same(JSON.parse(pruned.stdout), { removed: [firstKid] }, "prune removes the key past its bound, and only that one");
  t.same((await storedSigningKeys(config.databaseUrl)).map((k) => k.kid), [secondKid, thirdKid]);

  const rotated = await tessera("keys", "rotate", "--now");
  t.equal(rotated.code, 0, rotated.stderr);
  const rotatedKey = JSON.parse(rotated.stdout) as { kid: string; state: string };
  t.equal(rotatedKey.state, "active", "rotate --now prints an active key");
  t.notOk([firstKid, secondKid, thirdKid].includes(rotatedKey.kid), "a new kid");
  t.same((await storedSigningKeys(config.databaseUrl)).map((k) => k.kid), [secondKid, thirdKid, rotatedKey.kid]);

  const unknown = await tessera("keys", "retire", "no-such-kid");
  t.not(unknown.code, 0, "retiring an unknown kid fails");

  t.same(await auditLines(app, "key."), [
    `tessera key.create key:${firstKid}`,
    `test key.create key:${secondKid}`,
    `cli key.create key:${thirdKid}`,
    `cli key.retire key:${secondKid}`,
    `cli key.prune key:${firstKid}`,
    `cli key.create key:${rotatedKey.kid}`,
  ]);
});

t.test("a rotation on a database without any key (before the first start) makes generation 1, and the start keeps it", async (t) => {
  const base = await testConfig(t, QUIET);
  await applyMigrations(base.databaseUrl);
  const db = await openDb(base.databaseUrl);
  t.teardown(() => db.$disconnect());
  const clock = new SettableClock();
  const manager = new KeyManager({
    repo: new SigningKeyRepository(db),
    audit: new AuditRepository(db),
    kek: Buffer.from(base.kek!, "base64"),
    clock,
    alg: base.signingAlg,
    activationDelaySeconds: DELAY,
    rotationIntervalSeconds: ROTATION_INTERVAL,
    clockSkewSeconds: SKEW,
    legacyLingerSeconds: () => TTL,
  });
  const first = await manager.rotate("cli", true);
  t.match(first, { generation: 1, state: "active", alg: base.signingAlg });
  t.same((await storedSigningKeys(base.databaseUrl)).map((k) => [k.kid, k.generation]), [[first.kid, 1]]);
  const { app } = await buildTestApp(t, { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! }, clock);
  t.equal(app.services.keys.signer?.kid, first.kid, "the server signs with it and makes no key of its own");
  t.equal((await storedSigningKeys(base.databaseUrl)).length, 1);
});
