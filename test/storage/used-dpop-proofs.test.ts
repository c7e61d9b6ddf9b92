// The in-memory store of DPoP proofs seen (SQLite, one instance): each proof once, remembered at
// least until its expiry, then dropped a generation at a time; thousands of entries (past the first
// table's size) stay exact. The table store (PostgreSQL's, for several instances) on the suite's
// database: each proof once, and pruned after its expiry; across real processes it is tested in
// test/domain/tokens/dpop-proofs.test.ts and test/interop/dpop-replay-multi-instance.test.ts.
import t from "tap";
import { applyMigrations } from "../../src/storage/migrate.js";
import { openDb } from "../../src/storage/prisma.js";
import { UsedDpopProofRepository, UsedDpopProofsInMemory } from "../../src/storage/used-dpop-proofs.js";
import { freshDatabaseUrl } from "../helpers/database.js";

const T0 = Date.UTC(2026, 11, 7);

t.test("each key's jti once; another key's same jti, or another jti, is new", async (t) => {
  const store = new UsedDpopProofsInMemory(() => T0);
  const expiresAt = new Date(T0 + 62_000);
  t.equal(await store.useOnce("key-a", "jti-1", expiresAt), true);
  t.equal(await store.useOnce("key-a", "jti-1", expiresAt), false, "replay");
  t.equal(await store.useOnce("key-b", "jti-1", expiresAt), true, "same jti, another key");
  t.equal(await store.useOnce("key-a", "jti-2", expiresAt), true, "same key, another jti");
  t.equal(await store.count(), 3);
});

t.test("remembered until its expiry while generations turn over; then forgotten, a generation at a time", async (t) => {
  let now = T0;
  const store = new UsedDpopProofsInMemory(() => now);
  const life = 62_000;
  const firstExpiry = new Date(T0 + life);
  t.equal(await store.useOnce("k", "first", firstExpiry), true);
  // A new proof every second: each may start a generation; "first" must stay refused to its expiry.
  for (let second = 1; second < 62; second++) {
    now = T0 + second * 1000;
    t.equal(await store.useOnce("k", `at-${second}`, new Date(now + life)), true);
  }
  now = T0 + life - 1;
  t.equal(await store.useOnce("k", "first", firstExpiry), false, "refused a millisecond before its expiry");
  t.equal(await store.useOnce("k", "at-61", new Date(T0 + 61_000 + life)), false, "the latest too");
  t.equal(await store.count(), 62);
  // Long after: one new proof turns the generations over twice, and the old ones are gone.
  now = T0 + 10 * life;
  t.equal(await store.useOnce("k", "late-1", new Date(now + life)), true);
  now += 1;
  t.equal(await store.useOnce("k", "late-2", new Date(now + life)), true);
  t.equal(await store.count(), 2, "only the live proofs are held");
  t.equal(await store.useOnce("k", "first", firstExpiry), true, "long expired: forgotten (its proof's iat is out of the window by then)");
});

t.test("thousands of proofs: every one refused the second time, none mistaken for another", async (t) => {
  const store = new UsedDpopProofsInMemory(() => T0);
  const expiresAt = new Date(T0 + 62_000);
  const n = 20_000;
  let fresh = 0;
  for (let i = 0; i < n; i++) if (await store.useOnce("k", `jti-${i}`, expiresAt)) fresh++;
  t.equal(fresh, n, "all new the first time");
  let replays = 0;
  for (let i = 0; i < n; i++) if (!(await store.useOnce("k", `jti-${i}`, expiresAt))) replays++;
  t.equal(replays, n, "all refused the second time");
  t.equal(await store.count(), n);
});

t.test("the table store: each key's jti once, counted, and pruned once expired", async (t) => {
  const url = await freshDatabaseUrl(t);
  await applyMigrations(url);
  const db = await openDb(url);
  t.teardown(() => db.$disconnect());
  const store = new UsedDpopProofRepository(db);
  const expiresAt = new Date(T0 + 62_000);
  t.equal(await store.useOnce("key-a", "jti-1", expiresAt), true);
  t.equal(await store.useOnce("key-a", "jti-1", expiresAt), false, "replay");
  t.equal(await store.useOnce("key-b", "jti-1", expiresAt), true, "same jti, another key");
  t.equal(await store.useOnce("key-a", "x".repeat(4096), new Date(T0 + 1000)), true, "a long jti takes a digest's room");
  t.equal(await store.count(), 3);
  t.equal(await store.pruneExpired(new Date(T0 + 1000)), 1, "the one expired by then");
  t.equal(await store.count(), 2);
  t.equal(await store.useOnce("key-a", "jti-1", expiresAt), false, "the others are still refused");
});
