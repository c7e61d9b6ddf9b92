// Status-list entries handed out from reserved blocks (status-index-allocator.ts): never one entry
// for two unexpired tokens, on one instance or on two sharing a database; a slot reused only once
// its tokens expired plus the reuse delay (clock skew, CACHE_REFRESH, the lists' ttl); a new list
// only when the old ones are full.
import { randomBytes } from "node:crypto";
import t from "tap";
import { decodeJwt } from "jose";
import { BLOCK_SIZE, BLOCKS_PER_LIST, BLOCK_USE_SECONDS, LIST_SIZE, StatusIndexAllocator } from "../../../src/domain/tokens/status-index-allocator.js";
import { StatusListRepository } from "../../../src/storage/status-lists.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { SettableClock } from "../../helpers/clock.js";
import { freshDatabaseUrl } from "../../helpers/database.js";
import { FORM } from "../../helpers/oauth.js";
import type { StatusClaim } from "../../helpers/status-list.js";

const env = { DATABASE_URL: await freshDatabaseUrl(t), TESSERA_KEK: randomBytes(32).toString("base64"), CACHE_REFRESH: "1h" };
const clock = new SettableClock();
const a = await buildTestApp(t, env, clock);
const b = await buildTestApp(t, env, clock);
const db = a.app.services.db;
const repo = new StatusListRepository(db);
const DELAY_SECONDS = 100;
const allocator = () => new StatusIndexAllocator({ repo, clock, instanceId: "test", reuseDelaySeconds: DELAY_SECONDS });
const slotOf = (entry: number) => Math.floor(entry / BLOCK_SIZE);

t.test("two apps on one database, bursts at once for one client: every entry distinct", async (t) => {
  const creds = await a.createClient();
  await b.app.services.clients.refresh();
  const burst = (app: typeof a.app) =>
    Promise.all(
      Array.from({ length: 150 }, async () => {
        const res = await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form({ grant_type: "client_credentials" }) });
        const { idx, uri } = (decodeJwt(res.json().access_token).status as { status_list: StatusClaim }).status_list;
        return `${uri} ${idx}`;
      }),
    );
  const [fromA, fromB] = await Promise.all([burst(a.app), burst(b.app)]);
  t.equal(new Set([...fromA, ...fromB]).size, 300, "300 tokens, 300 entries");
  const blocks = await db.statusListBlock.findMany({ where: { clientId: creds.clientId } });
  t.equal(blocks.length, 2, "one block per instance for the client");
  t.not(blocks[0]!.instanceId, blocks[1]!.instanceId);
});

t.test("an instance that does not know a slot is taken collides once, then takes a free one", async (t) => {
  await db.statusListBlock.deleteMany({});
  const late = allocator();
  await late.load(); // sees an empty table
  const expiresBy = new Date(clock.now() + 3600_000);
  // Another instance takes every slot of list 0 but one.
  const FREE = 517;
  const rows = Array.from({ length: BLOCKS_PER_LIST }, (_, slot) => slot).filter((slot) => slot !== FREE);
  await db.statusListBlock.createMany({ data: rows.map((slot) => ({ slot, clientId: "other", instanceId: "other", reservedAt: new Date(clock.now()), expiresBy })) });
  const entry = await late.take("client-x", clock.now() + 60_000);
  t.equal(slotOf(entry), FREE, "the one free slot");
  t.equal(entry, FREE * BLOCK_SIZE, "its first entry");
  t.equal(await late.take("client-x", clock.now() + 60_000), entry + 1, "then the next, from memory");
});

t.test("a slot is reused only after its tokens expired plus the reuse delay; until then a new list begins", async (t) => {
  await db.statusListBlock.deleteMany({});
  const expiresBy = clock.now() + 900_000;
  await db.statusListBlock.createMany({
    data: Array.from({ length: BLOCKS_PER_LIST }, (_, slot) => ({ slot, clientId: "old", instanceId: "old", reservedAt: new Date(clock.now()), expiresBy: new Date(expiresBy) })),
  });
  clock.advance(900 + DELAY_SECONDS - 1); // expired, and skew etc. not yet passed
  const early = allocator();
  await early.load();
  const entry = await early.take("client-y", clock.now() + 60_000);
  t.ok(entry >= LIST_SIZE, "list 0 is full: list 1");
  t.equal(await repo.reserve({ slot: 3, clientId: "z", instanceId: "z", reservedAt: new Date(clock.now()), expiresBy: new Date(clock.now() + 60_000) }, new Date(clock.now() - DELAY_SECONDS * 1000)), false, "the database refuses it too");
  clock.advance(1);
  const later = allocator();
  await later.load();
  t.ok((await later.take("client-z", clock.now() + 60_000)) < LIST_SIZE, "expiry + delay passed: list 0 again");
});

t.test("a block serves tokens expiring no later than its expiresBy, then another is reserved", async (t) => {
  await db.statusListBlock.deleteMany({});
  const alloc = allocator();
  await alloc.load();
  const first = await alloc.take("c", clock.now() + 60_000);
  t.equal(slotOf(await alloc.take("c", clock.now() + 60_000 + BLOCK_USE_SECONDS * 1000)), slotOf(first), "within the block's lifetime");
  const longer = await alloc.take("c", clock.now() + 60_000 + BLOCK_USE_SECONDS * 1000 + 1);
  t.not(slotOf(longer), slotOf(first), "a token expiring later needs a new block");
  const row = await db.statusListBlock.findUnique({ where: { slot: slotOf(first) } });
  t.equal(row!.expiresBy.getTime(), clock.now() + 60_000 + BLOCK_USE_SECONDS * 1000, "expiresBy covers every token of the block");
  const other = await alloc.take("d", clock.now() + 60_000);
  t.not(slotOf(other), slotOf(first), "another client, another block");
});

t.test("a full block is followed by a new one; concurrent takes share one reservation", async (t) => {
  await db.statusListBlock.deleteMany({});
  const alloc = allocator();
  await alloc.load();
  const entries = await Promise.all(Array.from({ length: BLOCK_SIZE + 10 }, () => alloc.take("e", clock.now() + 60_000)));
  t.equal(new Set(entries).size, BLOCK_SIZE + 10);
  t.equal(new Set(entries.map(slotOf)).size, 2, "two blocks");
  t.equal(await db.statusListBlock.count(), 2, "two reservations");
});
