import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import t from "tap";
import { open } from "../../../src/crypto/kek.js";
import { KeyRing, LEASE_AHEAD_SECONDS } from "../../../src/domain/keys/key-ring.js";
import { KeyDecryptionError } from "../../../src/errors/internal.js";
import { SigningKeyRepository } from "../../../src/storage/signing-keys.js";
import { buildTestApp, testConfig } from "../../helpers/app.js";
import { slowReads } from "../../helpers/slow-reads.js";
import { storedSigningKeys } from "../../helpers/stored-keys.js";

const jwksOf = async (app: Awaited<ReturnType<typeof buildTestApp>>["app"]) => {
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  return { body: res.body, etag: res.headers.etag };
};

t.test("a restart on the same database and KEK serves the same kid and the same JWKS", async (t) => {
  const config = await testConfig(t);
  const env = { DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek! };
  const first = await buildTestApp(t, env);
  const kid = first.app.services.keys.signer?.kid;
  t.type(kid, "string");
  const before = await jwksOf(first.app);
  await first.app.close();

  const second = await buildTestApp(t, env);
  t.equal(second.app.services.keys.signer?.kid, kid);
  t.same(await jwksOf(second.app), before, "same body, same ETag");
  t.equal((await storedSigningKeys(config.databaseUrl)).length, 1, "no second key");
});

t.test("a restart with the wrong KEK refuses to start and creates no second key", async (t) => {
  const config = await testConfig(t);
  const first = await buildTestApp(t, { DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek! });
  const kid = first.app.services.keys.signer?.kid;
  await first.app.close();

  const wrongKek = randomBytes(32).toString("base64");
  const error = await buildTestApp(t, { DATABASE_URL: config.databaseUrl, TESSERA_KEK: wrongKek }).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(error, KeyDecryptionError);
  t.match((error as Error).message, /key-encryption key/);

  const stored = await storedSigningKeys(config.databaseUrl);
  t.equal(stored.length, 1, "still exactly one signing key");
  t.equal(stored[0]?.kid, kid);

  const again = await buildTestApp(t, { DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek! });
  t.equal(again.app.services.keys.signer?.kid, kid, "the right KEK still opens the original key");
});

t.test("the private key is stored sealed, not as plain PKCS#8", async (t) => {
  const { app, config } = await buildTestApp(t);
  const [stored, ...others] = await storedSigningKeys(config.databaseUrl);
  t.equal(others.length, 0);
  t.ok(stored);
  t.equal(stored!.kid, app.services.keys.signer?.kid);
  t.equal(stored!.alg, "RS256");
  t.notMatch(stored!.privateKey, /PRIVATE KEY/);
  t.notMatch(stored!.publicJwk, /"d"/, "the stored public JWK has no private exponent");
  // It is the sealed PKCS#8: opening it with the KEK and its kid gives the PEM back.
  const pem = open(Buffer.from(config.kek!, "base64"), stored!.privateKey, stored!.kid);
  t.match(pem, /^-----BEGIN PRIVATE KEY-----/);
});

t.test("two instances starting at once on an empty database agree on one key", async (t) => {
  const config = await testConfig(t);
  const env = { DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek! };
  const [a, b] = await Promise.all([buildTestApp(t, env), buildTestApp(t, env)]);
  const stored = await storedSigningKeys(config.databaseUrl);
  t.equal(stored.length, 1, "one of them created the first key; the other uses it");
  t.equal(a.app.services.keys.signer?.kid, stored[0]?.kid, "A signs with the stored key");
  t.equal(b.app.services.keys.signer?.kid, stored[0]?.kid, "B signs with the same key");
  t.same(await jwksOf(a.app), await jwksOf(b.app), "both publish the same JWKS");
});

t.test("SIGNING_ALG chooses the algorithm of the first key", async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_ALG: "ES256" });
  t.equal(app.services.keys.signer?.alg, "ES256");
  const { keys } = JSON.parse(app.services.keys.jwks.body) as { keys: Array<Record<string, unknown>> };
  t.equal(keys.length, 1);
  t.match(keys[0], { kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: app.services.keys.signer?.kid });
  t.notOk(keys[0] && "d" in keys[0]);
});

t.test("two overlapping reloads, the older read finishing last: the ring keeps the newer keys (single-flight, by version)", async (t) => {
  const a = await buildTestApp(t, { CACHE_REFRESH: "1h" });
  // Another instance's ring, on a client whose next read of the key table answers late.
  const slow = await slowReads(t, a.config.databaseUrl, "signingKey");
  const ring = new KeyRing({
    repo: new SigningKeyRepository(slow.db),
    kek: Buffer.from(a.config.kek!, "base64"),
    clock: a.clock,
    clockSkewSeconds: a.config.clockSkewSeconds,
    tokenLifetimeSeconds: () => a.config.accessTokenTtlSeconds,
  });
  await ring.refresh();
  const oldKid = ring.signer!.kid;
  const pending = await a.app.services.keyAdmin.rotate("test"); // a change for the ring to reload

  const reading = slow.holdNext();
  const older = ring.refresh();
  await reading; // the older reload has read the old key as the active one; its answer is held
  await a.app.services.keyAdmin.retire(oldKid, "test"); // the pending key takes over at once
  const newer = ring.refresh();
  // Time for the newer reload to run alongside the held one, as it did before single-flight (and
  // finished first); with single-flight it starts after the older one, whatever the timing.
  await Promise.race([newer, delay(1000)]);
  slow.release();
  await Promise.all([older, newer]);
  t.equal(ring.signer?.kid, pending.kid, "the key that took over signs, not the retired one");
  t.same(ring.statuses.map((s) => `${s.key.kid} ${s.state}`), [`${oldKid} retired`, `${pending.kid} active`]);
  t.equal(slow.reads(), 3, "one read for the start, one per reload");
});

t.test("a key stored before migration 0007 (no tokensExpireBy): a raise also covers the longest lifetime configured, for the tokens it signed unrecorded", async (t) => {
  const a = await buildTestApp(t, { CACHE_REFRESH: "1h" });
  const { db } = a.app.services;
  const kid = a.app.services.keys.signer!.kid;
  await db.signingKey.update({ where: { kid }, data: { tokensExpireBy: null } }); // as 0007 left an older key
  let lifetimeSeconds = 60;
  const ring = new KeyRing({
    repo: new SigningKeyRepository(db),
    kek: Buffer.from(a.config.kek!, "base64"),
    clock: a.clock,
    clockSkewSeconds: a.config.clockSkewSeconds,
    tokenLifetimeSeconds: () => lifetimeSeconds,
  });
  const storedBound = async () => (await db.signingKey.findUniqueOrThrow({ where: { kid } })).tokensExpireBy!.getTime();
  await ring.refresh(true);
  const now = a.clock.now();
  t.equal(await storedBound(), now + (60 + LEASE_AHEAD_SECONDS) * 1000, "the load's raise: the lifetime configured, plus the lease");
  // A longer lifetime configured since (a client registered with one): the next raise for this key,
  // still the legacy row in the ring, covers that lifetime, not only the token asking.
  lifetimeSeconds = 3600;
  const expMs = now + 600_000;
  t.equal((await ring.signerCovering(expMs))?.kid, kid);
  t.equal(await storedBound(), now + 3600_000, "now + the longest lifetime, beyond exp + the lease");
});
