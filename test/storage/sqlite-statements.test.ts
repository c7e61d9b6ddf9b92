// The SQLite adapter's statement cache (src/storage/sqlite-statements.ts): Prisma's queries reach
// compiled statements kept by SQL text, each call binds its own values, and transactions, raw queries
// and constraint errors behave as without the cache. SQLite only, in both passes of the suite: the
// cache sits in the SQLite adapter whatever DATABASE_URL says.
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { PrismaClient } from "../../src/generated/sqlite/client.js";
import { applyMigrations } from "../../src/storage/migrate.js";
import { isUniqueViolation } from "../../src/storage/prisma.js";
import { CachingBetterSqlite3, StatementCache } from "../../src/storage/sqlite-statements.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-statements-"));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const url = `file:${path.join(dir, "tessera.db")}`;
await applyMigrations(url);
const adapter = new CachingBetterSqlite3({ url });
const db = new PrismaClient({ adapter });
t.teardown(() => db.$disconnect());

const client = (id: string) => ({ id, name: `client ${id}`, grantTypes: "client_credentials" });

t.test("a query shape is compiled once; each call binds its own values", async (t) => {
  await db.client.create({ data: client("a") });
  t.ok(adapter.statements, "the connection answers prepare() from the cache");
  const statements = adapter.statements!;
  await db.client.create({ data: client("b") });
  const compiled = statements.compiled;
  const reused = statements.reused;
  const a = await db.client.findUnique({ where: { id: "a" } });
  const b = await db.client.findUnique({ where: { id: "b" } });
  t.equal(a?.name, "client a");
  t.equal(b?.name, "client b", "the second call's value, not the first's");
  t.equal(await db.client.findUnique({ where: { id: "c" } }), null);
  t.equal(statements.compiled, compiled + 1, "one compilation for three lookups");
  t.equal(statements.reused, reused + 2);

  const raw = async (id: string) => db.$queryRaw<{ name: string; enabled: boolean }[]>`SELECT "name", "enabled" FROM "Client" WHERE "id" = ${id}`;
  t.same(await raw("a"), [{ name: "client a", enabled: true }], "raw rows keep their column names and types");
  t.same(await raw("b"), [{ name: "client b", enabled: true }]);
  t.equal(await db.$executeRaw`UPDATE "Client" SET "enabled" = false WHERE "id" = ${"b"}`, 1, "changes are counted");
  t.equal(await db.$executeRaw`UPDATE "Client" SET "enabled" = false WHERE "id" = ${"nobody"}`, 0);
  t.same(await raw("b"), [{ name: "client b", enabled: false }]);
});

t.test("transactions commit and roll back through cached statements", async (t) => {
  await db.$transaction([db.client.create({ data: client("t1") }), db.client.create({ data: client("t2") })]);
  t.equal(await db.client.count({ where: { id: { in: ["t1", "t2"] } } }), 2, "a batch commits");

  const failed = await db.$transaction([db.client.create({ data: client("t3") }), db.client.create({ data: client("t1") })]).catch((e: unknown) => e);
  t.ok(isUniqueViolation(failed), "a unique violation is still Prisma's P2002");
  t.equal(await db.client.findUnique({ where: { id: "t3" } }), null, "the batch rolled back");

  await db.$transaction(async (tx) => {
    await tx.client.create({ data: client("t4") });
    await tx.client.update({ where: { id: "t4" }, data: { name: "renamed" } });
  });
  t.equal((await db.client.findUnique({ where: { id: "t4" } }))?.name, "renamed", "an interactive transaction commits");
  const again = await db.$transaction(async (tx) => {
    await tx.client.update({ where: { id: "t4" }, data: { name: "lost" } });
    throw new Error("changed my mind");
  }).catch((e: Error) => e.message);
  t.equal(again, "changed my mind");
  t.equal((await db.client.findUnique({ where: { id: "t4" } }))?.name, "renamed", "an interactive transaction rolls back");
});

// Turns of the event loop: time for a query started meanwhile to run, if nothing holds it back.
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise(setImmediate);
};

t.test("a query made while a transaction is open runs after it, and is not undone by its rollback", async (t) => {
  let outside: Promise<unknown> | undefined;
  const failed = await db.$transaction(async (tx) => {
    await tx.client.create({ data: client("in-tx") });
    outside = db.client.create({ data: client("outside") }); // another request's write, not tx's
    await turns(5);
    t.equal(await tx.client.count({ where: { id: "outside" } }), 0, "it has not run inside the transaction");
    throw new Error("roll back");
  }).catch((e: Error) => e.message);
  t.equal(failed, "roll back");
  await outside;
  t.equal(await db.client.count({ where: { id: "in-tx" } }), 0, "the transaction's own write is undone");
  t.equal(await db.client.count({ where: { id: "outside" } }), 1, "the other write stands");
});

t.test("the cache is bounded: past 500 statements the oldest is compiled again", async (t) => {
  const conn = new Database(":memory:");
  t.teardown(() => conn.close());
  const cache = new StatementCache(conn);
  const select = (i: number) => cache.prepare(`SELECT ? + ${i} AS n`).bind([1]).raw().all();
  t.same(select(0), [[1]]);
  for (let i = 1; i <= 500; i++) select(i);
  t.equal(cache.compiled, 501);
  t.same(select(500), [[501]]);
  t.equal(cache.compiled, 501, "a recent statement is still cached");
  t.same(select(0), [[1]]);
  t.equal(cache.compiled, 502, "the oldest was dropped and is compiled again");
});
