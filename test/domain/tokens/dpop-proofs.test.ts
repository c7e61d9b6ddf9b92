// DpopProofChecker (services.dpop) on a real database: one header, each proof once (on PostgreSQL on
// any instance of the same database; on SQLite, one instance, in memory), the server nonce when
// DPOP_NONCE is on, and nothing remembered for a proof that fails a check. The proof checks
// themselves: test/crypto/dpop.test.ts; the in-memory store: test/storage/used-dpop-proofs.test.ts.
import t from "tap";
import { randomBytes } from "node:crypto";
import { DPOP_NONCE_SLOT_SECONDS, DPOP_PROOF_MAX_AGE_SECONDS } from "../../../src/domain/tokens/dpop-proofs.js";
import { pruneExpired } from "../../../src/domain/maintenance.js";
import { buildTestApp } from "../../helpers/app.js";
import { TEST_PROVIDER } from "../../helpers/database.js";
import { SettableClock } from "../../helpers/clock.js";
import { dpopKey, dpopProof } from "../../helpers/dpop.js";

const HTU = "https://tessera.test/token";
const key = await dpopKey("ES256");

t.test("no DPoP header: null, and nothing is remembered", async (t) => {
  const { app } = await buildTestApp(t);
  t.equal(await app.services.dpop.check({ header: undefined, headerCount: 0, htm: "POST", htu: HTU }), null);
  t.equal(await app.services.dpop.remembered(), 0);
});

t.test("a proof is accepted once: its key comes back, and the same proof again is refused", async (t) => {
  const { app, clock } = await buildTestApp(t);
  const header = await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU });
  const request = { header, headerCount: 1, htm: "POST", htu: HTU };
  t.same(await app.services.dpop.check(request), { jkt: key.jkt });
  await t.rejects(app.services.dpop.check(request), { code: "invalid_dpop_proof", description: "DPoP proof was used before" });
  const another = await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU });
  t.same(await app.services.dpop.check({ ...request, header: another }), { jkt: key.jkt }, "another jti of the same key is fine");
  t.equal(await app.services.dpop.remembered(), 2);
  t.equal(await app.services.db.usedDpopProof.count(), TEST_PROVIDER === "postgresql" ? 2 : 0, "in the table on PostgreSQL only");
});

t.test("more than one DPoP header is refused, before anything else", async (t) => {
  const { app, clock } = await buildTestApp(t);
  const header = await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU });
  await t.rejects(app.services.dpop.check({ header, headerCount: 2, htm: "POST", htu: HTU }), { code: "invalid_dpop_proof", description: "more than one DPoP header" });
  t.equal(await app.services.dpop.remembered(), 0, "not recorded");
  await t.rejects(app.services.dpop.check({ header: "", headerCount: 1, htm: "POST", htu: HTU }), { code: "invalid_dpop_proof" }, "an empty header is a bad proof");
});

t.test("a proof that fails a check writes nothing (the replay check comes last)", async (t) => {
  const { app, clock } = await buildTestApp(t);
  const other = await dpopKey("ES256");
  const forged = await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU }, { jwk: other.publicJwk });
  await t.rejects(app.services.dpop.check({ header: forged, headerCount: 1, htm: "POST", htu: HTU }), { code: "invalid_dpop_proof", description: /signature/ });
  const wrongUri = await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: "https://tessera.test/userinfo" });
  await t.rejects(app.services.dpop.check({ header: wrongUri, headerCount: 1, htm: "POST", htu: HTU }), { code: "invalid_dpop_proof", description: /htu/ });
  t.equal(await app.services.dpop.remembered(), 0);
});

t.test("a second instance on the same database: on PostgreSQL it refuses what the first accepted; SQLite (one instance per file) remembers in memory", async (t) => {
  const clock = new SettableClock();
  const a = await buildTestApp(t, {}, clock);
  const b = await buildTestApp(t, { DATABASE_URL: a.config.databaseUrl, TESSERA_KEK: a.config.kek! }, clock);
  const request = { header: await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU }), headerCount: 1, htm: "POST", htu: HTU };
  t.same(await a.app.services.dpop.check(request), { jkt: key.jkt });
  await t.rejects(a.app.services.dpop.check(request), { code: "invalid_dpop_proof", description: "DPoP proof was used before" });
  if (TEST_PROVIDER === "postgresql") {
    await t.rejects(b.app.services.dpop.check(request), { code: "invalid_dpop_proof", description: "DPoP proof was used before" }, "the replay table is shared");
    t.equal(await a.app.services.db.usedDpopProof.count(), 1);
  } else {
    t.same(await b.app.services.dpop.check(request), { jkt: key.jkt }, "a second process on the same file does not know it (README: one instance per SQLite file)");
    t.equal(await a.app.services.db.usedDpopProof.count(), 0, "not in the table");
  }
});

const SQLITE_IN_MEMORY = "SQLite keeps proofs in memory (test/storage/used-dpop-proofs.test.ts has their lifetime)";
t.test("PostgreSQL: the replay row lives to the end of the proof's window (plus skew), then pruning removes it", { skip: TEST_PROVIDER !== "postgresql" && SQLITE_IN_MEMORY }, async (t) => {
  const { app, clock, config } = await buildTestApp(t);
  const iat = clock.now() / 1000;
  await app.services.dpop.check({ header: await dpopProof(key, { nowSeconds: iat, htu: HTU }), headerCount: 1, htm: "POST", htu: HTU });
  const [row] = await app.services.db.usedDpopProof.findMany();
  t.equal(row?.expiresAt.getTime(), (iat + DPOP_PROOF_MAX_AGE_SECONDS + 2 * config.clockSkewSeconds) * 1000);
  t.match(row?.id, /^[A-Za-z0-9_-]{43}$/, "a digest, not the jti");
  clock.advance(DPOP_PROOF_MAX_AGE_SECONDS + 2 * config.clockSkewSeconds - 1);
  t.equal((await pruneExpired(app.services.db, clock)).dpopProofs, 0, "kept while a proof could still be accepted somewhere");
  clock.advance(1);
  t.equal((await pruneExpired(app.services.db, clock)).dpopProofs, 1);
  t.equal(await app.services.db.usedDpopProof.count(), 0);
});

t.test("DPOP_NONCE=on: a proof needs the current or the previous nonce; a refused one writes nothing", async (t) => {
  const kek = randomBytes(32).toString("base64");
  const { app, clock } = await buildTestApp(t, { DPOP_NONCE: "on", TESSERA_KEK: kek });
  const { dpop } = app.services;
  t.equal(dpop.nonceRequired, true);
  const check = async (nonce?: string) =>
    dpop.check({ header: await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU, nonce }), headerCount: 1, htm: "POST", htu: HTU });
  await t.rejects(check(), { code: "use_dpop_nonce", status: 400, description: /must carry the server's nonce/ });
  await t.rejects(check("made-up"), { code: "use_dpop_nonce", description: /stale/ });
  t.equal(await dpop.remembered(), 0, "nothing recorded");

  const nonce = dpop.nonce();
  t.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  t.same(await check(nonce), { jkt: key.jkt }, "the current nonce");
  clock.advance(DPOP_NONCE_SLOT_SECONDS);
  t.not(dpop.nonce(), nonce, "a new slot, a new nonce");
  t.same(await check(nonce), { jkt: key.jkt }, "the previous slot's nonce still works");
  clock.advance(DPOP_NONCE_SLOT_SECONDS);
  await t.rejects(check(nonce), { code: "use_dpop_nonce", description: /stale/ }, "two slots on: stale");

  const sameKek = await buildTestApp(t, { DPOP_NONCE: "on", TESSERA_KEK: kek }, clock);
  t.same(await check(sameKek.app.services.dpop.nonce()), { jkt: key.jkt }, "another instance's nonce (same KEK) works");
  const otherKek = await buildTestApp(t, { DPOP_NONCE: "on" }, clock);
  await t.rejects(check(otherKek.app.services.dpop.nonce()), { code: "use_dpop_nonce" }, "a nonce under another KEK does not");
});

t.test("DPOP_NONCE=off: a nonce in the proof is not looked at", async (t) => {
  const { app, clock } = await buildTestApp(t);
  t.equal(app.services.dpop.nonceRequired, false);
  const header = await dpopProof(key, { nowSeconds: clock.now() / 1000, htu: HTU, nonce: "anything" });
  t.same(await app.services.dpop.check({ header, headerCount: 1, htm: "POST", htu: HTU }), { jkt: key.jkt });
});
