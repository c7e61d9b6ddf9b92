// tessera's SQLite driver adapter (src/storage/sqlite/adapter.ts) under Prisma's real client: every
// column type the models use makes the round trip, compiled statements are reused, errors reach the
// repositories as Prisma's codes, and the one connection is taken in turn: queries from outside an
// open transaction wait for it, and every way a transaction ends (commit, rollback, a COMMIT that
// fails) lets them run. SQLite only, in both passes of the suite: the adapter is SQLite's whatever
// DATABASE_URL says. A Prisma or better-sqlite3 upgrade that changes the adapter contract fails here.
import Database from "better-sqlite3";
import { sqltag as sql } from "@prisma/client/runtime/client";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { PrismaClient } from "../../src/generated/sqlite/client.js";
import { isDatabaseUnavailable } from "../../src/errors/internal.js";
import { applyMigrations } from "../../src/storage/migrate.js";
import { directSqlOf, isUniqueViolation, openDb } from "../../src/storage/prisma.js";
import { ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import { SqliteAdapterFactory, StatementCache } from "../../src/storage/sqlite/adapter.js";
import { sqliteDirectSql } from "../../src/storage/sqlite/direct-sql.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-sqlite-adapter-"));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const url = `file:${path.join(dir, "tessera.db")}`;
await applyMigrations(url);
const adapter = new SqliteAdapterFactory({ url });
const db = new PrismaClient({ adapter });
t.teardown(() => db.$disconnect());

const client = (id: string) => ({ id, name: `client ${id}`, grantTypes: "client_credentials" });

t.test("the direct statements need the connection the adapter opens at Prisma's first query", async (t) => {
  const unconnected = new SqliteAdapterFactory({ url: `file:${path.join(dir, "never-connected.db")}` });
  t.throws(() => sqliteDirectSql(unconnected), new TypeError("the SQLite adapter has not connected yet"));
});

// Turns of the event loop: time for a query started meanwhile to run, if nothing holds it back.
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise(setImmediate);
};
/** What `promise` settled to within a few turns of the event loop, or "still waiting". */
const settledSoon = async <T>(promise: Promise<T>) => Promise.race([promise, turns(20).then(() => "still waiting" as const)]);

t.test("every column type of the models makes the round trip through Prisma's client", async (t) => {
  const at = new Date(Date.UTC(2031, 4, 6, 22, 8, 9, 123));
  const created = await db.client.create({
    data: { ...client("types"), tokenTtlSeconds: 2_147_483_647, firstParty: true, jwks: null, previousSecretExpiresAt: at, createdAt: at },
  });
  t.same(
    {
      tokenTtlSeconds: created.tokenTtlSeconds,
      firstParty: created.firstParty,
      enabled: created.enabled,
      canIntrospect: created.canIntrospect,
      jwks: created.jwks,
      scopes: created.scopes,
      previousSecretExpiresAt: created.previousSecretExpiresAt?.toISOString(),
      createdAt: created.createdAt.toISOString(),
    },
    { tokenTtlSeconds: 2_147_483_647, firstParty: true, enabled: true, canIntrospect: false, jwks: null, scopes: "", previousSecretExpiresAt: at.toISOString(), createdAt: at.toISOString() },
    "Int at its top, Boolean both ways and defaulted, nullable String, DateTime to the millisecond (create returns)",
  );
  const read = await db.client.findUniqueOrThrow({ where: { id: "types" } });
  t.same(read, created, "findUnique reads back what create returned");
  t.type(read.updatedAt, Date);
  const cleared = await db.client.update({ where: { id: "types" }, data: { tokenTtlSeconds: null, previousSecretExpiresAt: null, firstParty: false, jwks: "{}" } });
  t.same([cleared.tokenTtlSeconds, cleared.previousSecretExpiresAt, cleared.firstParty, cleared.jwks], [null, null, false, "{}"], "nulls written and read");
  t.equal(await db.client.count({ where: { previousSecretExpiresAt: null, id: "types" } }), 1, "a null compares as null");
  t.equal(await db.client.count({ where: { createdAt: { gte: at, lt: new Date(at.getTime() + 1) } } }), 1, "dates compare to the millisecond");

  const events = [await db.auditEvent.create({ data: { at, actor: "a", action: "x", target: "t" } }), await db.auditEvent.create({ data: { at, actor: "b", action: "y", target: "t" } })];
  t.same(events.map((e) => typeof e.id), ["number", "number"], "an autoincrement id comes back as a number");
  t.equal(events[1]!.id, events[0]!.id + 1);
  t.equal(events[0]!.details, "{}");

  await db.cacheVersion.create({ data: { name: "clients" } });
  const bumped = await db.cacheVersion.update({ where: { name: "clients" }, data: { version: { increment: 1 } } });
  t.equal(bumped.version, 1, "an Int incremented in SQL");
  const max = await db.auditEvent.aggregate({ _max: { id: true, at: true }, _count: { _all: true } });
  t.same([max._max.id, max._max.at?.toISOString(), max._count._all], [events[1]!.id, at.toISOString(), 2], "aggregates keep their types");
  const groups = await db.auditEvent.groupBy({ by: ["actor"], _count: { _all: true }, orderBy: { actor: "asc" } });
  t.same(groups, [{ actor: "a", _count: { _all: 1 } }, { actor: "b", _count: { _all: 1 } }]);

  const [row] = await db.$queryRaw<{ n: unknown; big: unknown; half: unknown; text: unknown; nothing: unknown }[]>`SELECT COUNT(*) AS "n", ${2n ** 62n} AS "big", 0.5 AS "half", 'x' AS "text", NULL AS "nothing" FROM "Client"`;
  t.same(row, { n: 1n, big: 2n ** 62n, half: 0.5, text: "x", nothing: null }, "raw expressions: integers as bigint, past 2^53 too, reals, text, null");
  const [stored] = await db.$queryRaw<{ createdAt: unknown; firstParty: unknown; tokenTtlSeconds: unknown }[]>`SELECT "createdAt", "firstParty", "tokenTtlSeconds" FROM "Client" WHERE "id" = ${"types"}`;
  t.same(stored, { createdAt: at, firstParty: false, tokenTtlSeconds: null }, "raw reads of typed columns: Date, boolean, null");
});

t.test("a query shape is compiled once; each call binds its own values", async (t) => {
  await db.client.createMany({ data: [client("a"), client("b")] });
  const statements = adapter.connection!.statements;
  const compiled = statements.compiled;
  const reused = statements.reused;
  const nameOf = (id: string) => db.client.findUnique({ where: { id }, select: { name: true } });
  t.same(await nameOf("a"), { name: "client a" });
  t.same(await nameOf("b"), { name: "client b" }, "the second call's value, not the first's");
  t.equal(await nameOf("c"), null);
  t.equal(statements.compiled, compiled + 1, "one compilation for three lookups");
  t.equal(statements.reused, reused + 2);

  const raw = async (id: string) => db.$queryRaw<{ name: string; enabled: boolean }[]>`SELECT "name", "enabled" FROM "Client" WHERE "id" = ${id}`;
  t.same(await raw("a"), [{ name: "client a", enabled: true }], "raw rows keep their column names and types");
  t.same(await raw("b"), [{ name: "client b", enabled: true }]);
  t.equal(await db.$executeRaw`UPDATE "Client" SET "enabled" = false WHERE "id" = ${"b"}`, 1, "changes are counted");
  t.equal(await db.$executeRaw`UPDATE "Client" SET "enabled" = false WHERE "id" = ${"nobody"}`, 0);
  t.same(await raw("b"), [{ name: "client b", enabled: false }]);
});

t.test("driver errors reach the repositories as Prisma's codes", async (t) => {
  const duplicate = await db.client.create({ data: client("a") }).catch((e: unknown) => e);
  t.ok(isUniqueViolation(duplicate), "a unique violation is Prisma's P2002");
  t.match(duplicate, { code: "P2002", meta: { driverAdapterError: { cause: { kind: "UniqueConstraintViolation", constraint: { fields: ["id"] } } } } });
  const orphan = await db.refreshFamily
    .create({ data: { id: "f", clientId: "nobody", userId: "nobody", createdAt: new Date(), expiresAt: new Date() } })
    .catch((e: unknown) => e);
  t.match(orphan, { code: "P2003" }, "a foreign key violation is P2003");
  const raw = await db.$executeRawUnsafe(`INSERT INTO "Client" ("id", "name", "grantTypes", "updatedAt") VALUES ('a', 'a', 'x', 0)`).catch((e: unknown) => e);
  t.match(raw, { code: "P2010", meta: { driverAdapterError: { cause: { originalCode: "SQLITE_CONSTRAINT_PRIMARYKEY" } } } }, "a raw statement's failure names the driver's code");

  // A second connection holds the write lock; this client does not wait for it (timeout 0).
  const other = new Database(url.replace(/^file:/, ""));
  t.teardown(() => other.close());
  const impatient = new PrismaClient({ adapter: new SqliteAdapterFactory({ url, timeout: 0 }) });
  t.teardown(() => impatient.$disconnect());
  other.exec("BEGIN IMMEDIATE");
  const busy = await impatient.client.create({ data: client("busy") }).catch((e: unknown) => e);
  other.exec("ROLLBACK");
  t.match(busy, { code: "P1008" }, "SQLITE_BUSY is Prisma's timeout");
  t.equal(isDatabaseUnavailable(busy), true, "…which answers 503, not 500");
});

t.test("transactions commit and roll back", async (t) => {
  await db.$transaction([db.client.create({ data: client("t1") }), db.client.create({ data: client("t2") })]);
  t.equal(await db.client.count({ where: { id: { in: ["t1", "t2"] } } }), 2, "a batch commits");

  const failed = await db.$transaction([db.client.create({ data: client("t3") }), db.client.create({ data: client("t1") })]).catch((e: unknown) => e);
  t.ok(isUniqueViolation(failed), "a unique violation in a batch is still Prisma's P2002");
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

t.test("the adapter refuses isolation levels SQLite does not have", async (t) => {
  const refused = await db.$transaction(async () => 1, { isolationLevel: "ReadUncommitted" as "Serializable" }).catch((e: unknown) => e);
  t.match(refused, { code: "P2023" });
  t.equal(await db.$transaction(async (tx) => tx.client.count({ where: { id: "t4" } }), { isolationLevel: "Serializable" }), 1, "Serializable is SQLite's");
});

// The rest goes through openDb, as the server does, with the direct statements of direct-sql.ts.
const server = await openDb(url);
t.teardown(() => server.$disconnect());
const direct = directSqlOf(server);
if (direct.provider !== "sqlite") throw new TypeError("expected SQLite");
const insertClient = (id: string) =>
  sql`INSERT INTO "Client" ("id", "name", "grantTypes", "updatedAt") VALUES (${id}, ${id}, ${"client_credentials"}, ${new Date()})`;
const count = async (ids: string[]) => server.client.count({ where: { id: { in: ids } } });

t.test("queries made while a transaction is open wait for it, and are not undone by its rollback", async (t) => {
  let outside: Promise<unknown> | undefined;
  const failed = await server.$transaction(async (tx) => {
    await tx.client.create({ data: client("in-tx") });
    outside = Promise.all([
      server.client.create({ data: client("outside-1") }), // another request's write, not tx's
      direct.changes(insertClient("outside-2")),
      server.$transaction(async (next) => next.client.create({ data: client("outside-3") })),
    ]);
    await turns(5);
    t.equal(await tx.client.count({ where: { id: { startsWith: "outside" } } }), 0, "none has run inside the transaction");
    throw new Error("roll back");
  }).catch((e: Error) => e.message);
  t.equal(failed, "roll back");
  t.equal((await outside as unknown[]).length, 3, "the rollback let them run");
  t.equal(await count(["in-tx"]), 0, "the transaction's own write is undone");
  t.equal(await count(["outside-1", "outside-2", "outside-3"]), 3, "the other writes stand");
});

t.test("a COMMIT that fails ends the transaction and lets the waiting queries run", async (t) => {
  let outside: Promise<unknown> | undefined;
  const failed = await server.$transaction(async (tx) => {
    // Foreign keys checked at COMMIT: the orphan below makes the COMMIT itself fail.
    await tx.$executeRawUnsafe("PRAGMA defer_foreign_keys = ON");
    await tx.$executeRaw`INSERT INTO "RefreshFamily" ("id", "clientId", "userId", "createdAt", "expiresAt") VALUES (${"orphan"}, ${"nobody"}, ${"nobody"}, ${new Date()}, ${new Date()})`;
    outside = Promise.all([server.client.create({ data: client("after-commit-1") }), direct.changes(insertClient("after-commit-2"))]);
  }).catch((e: unknown) => e);
  // Prisma's client passes an error of COMMIT on as the adapter's error, without a Prisma code.
  t.match(failed, { name: "DriverAdapterError", cause: { kind: "ForeignKeyConstraintViolation", originalCode: "SQLITE_CONSTRAINT_FOREIGNKEY" } }, "the COMMIT's foreign key failure");
  t.same(await settledSoon(outside!.then(() => "ran")), "ran", "the waiting queries ran");
  t.equal(await count(["after-commit-1", "after-commit-2"]), 2);
  t.equal(await server.refreshFamily.count({ where: { id: "orphan" } }), 0, "the failed transaction's write is undone");
  await server.$transaction(async (tx) => tx.client.create({ data: client("after-commit-3") }));
  t.equal(await count(["after-commit-3"]), 1, "the next transaction begins and commits");
});

t.test("a transaction begun by raw SQL holds nothing up", async (t) => {
  await server.$executeRawUnsafe("BEGIN");
  t.same(await settledSoon(direct.rows(sql`SELECT 1 AS "one"`)), [{ one: 1n }], "a direct statement runs");
  t.equal(await settledSoon(server.client.count({ where: { id: "a" } })), 1, "a Prisma query runs");
  await server.$executeRawUnsafe("ROLLBACK");
});

t.test("a BEGIN that fails (a raw transaction is already open) is thrown and gives the connection back", async (t) => {
  await server.$executeRawUnsafe("BEGIN");
  const failed = await server.$transaction(async (tx) => tx.client.count()).catch((e: unknown) => e);
  t.match(failed, { message: /cannot start a transaction within a transaction/ });
  t.equal(await settledSoon(server.client.count({ where: { id: "a" } })), 1, "the next query runs");
  await server.$executeRawUnsafe("ROLLBACK");
  t.equal(await server.$transaction(async (tx) => tx.client.count({ where: { id: "a" } })), 1, "and the next transaction");
});

t.test("the cache is bounded: past 500 statements the oldest is compiled again", async (t) => {
  const conn = new Database(":memory:");
  t.teardown(() => conn.close());
  const cache = new StatementCache(conn);
  const select = (i: number) => cache.compiledStatement(`SELECT ? + ${i} AS n`).raw(true).all(1);
  t.same(select(0), [[1]]);
  for (let i = 1; i <= 500; i++) select(i);
  t.equal(cache.compiled, 501);
  t.same(select(500), [[501]]);
  t.equal(cache.compiled, 501, "a recent statement is still cached");
  t.same(select(0), [[1]]);
  t.equal(cache.compiled, 502, "the oldest was dropped and is compiled again");
});

// The adapter itself, as Prisma's client calls it: what the client's own API does not reach here
// (tessera's models have no REAL or BLOB column, and Prisma runs no script or savepoint on SQLite).
const raw = await new SqliteAdapterFactory({ url }).connect();
t.teardown(() => raw.dispose());
const query = (sqlText: string, args: unknown[] = []) => ({ sql: sqlText, args, argTypes: args.map(() => ({ scalarType: "unknown" as const, arity: "scalar" as const })) });
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: { name?: string; cause?: unknown }) => ({ name: e.name, cause: e.cause }));

t.test("an expression column takes its type from its first value: REAL a number, a blob bytes", async (t) => {
  const result = await raw.queryRaw(query(`SELECT 1.5 AS "real", x'00ff' AS "blob", NULL AS "none"`));
  t.same(result.columnNames, ["real", "blob", "none"]);
  t.same(result.columnTypes, [ColumnTypeEnum.UnknownNumber, ColumnTypeEnum.Bytes, ColumnTypeEnum.Int32]);
});

t.test("a statement that returns no rows, sent as a query, answers an empty result", async (t) => {
  const result = await raw.queryRaw(query(`UPDATE "Client" SET "name" = ? WHERE "id" = ?`, ["renamed again", "t4"]));
  t.same(result, { columnNames: [], columnTypes: [], rows: [] });
  t.equal((await db.client.findUnique({ where: { id: "t4" } }))?.name, "renamed again", "and it ran");
});

t.test("executeScript runs every statement; a failing script is the adapter's error", async (t) => {
  await raw.executeScript(`CREATE TABLE "ScriptA" ("x" INTEGER); CREATE TABLE "ScriptB" ("y" TEXT NOT NULL);`);
  t.same((await raw.queryRaw(query(`SELECT count(*) AS "n" FROM sqlite_master WHERE name IN ('ScriptA', 'ScriptB')`))).rows, [[2]]);
  t.match(await failure(raw.executeScript(`CREATE TABLE "ScriptA" ("x" INTEGER)`)), { name: "DriverAdapterError", cause: { kind: "sqlite", message: "table \"ScriptA\" already exists" } });
});

t.test("NOT NULL and unknown-column failures are Prisma's kinds, naming the column", async (t) => {
  t.match(await failure(raw.executeRaw(query(`INSERT INTO "ScriptB" ("y") VALUES (NULL)`))), { cause: { kind: "NullConstraintViolation", constraint: { fields: ["y"] } } });
  t.match(await failure(raw.queryRaw(query(`SELECT "nope" FROM "ScriptB"`))), { cause: { kind: "ColumnNotFound", column: "nope" } });
  t.match(await failure(raw.executeRaw(query(`INSERT INTO "ScriptB" ("nope") VALUES (1)`))), { cause: { kind: "ColumnNotFound", column: "nope" } });
});

t.test("savepoints: rolling back to one undoes only what came after it", async (t) => {
  const tx = await raw.startTransaction();
  await tx.executeRaw(query(`INSERT INTO "ScriptB" ("y") VALUES ('kept')`));
  await tx.createSavepoint!("s1");
  await tx.executeRaw(query(`INSERT INTO "ScriptB" ("y") VALUES ('undone')`));
  await tx.rollbackToSavepoint!("s1");
  await tx.releaseSavepoint!("s1");
  await tx.commit();
  t.same((await raw.queryRaw(query(`SELECT "y" FROM "ScriptB" ORDER BY "y"`))).rows, [["kept"]]);
});

t.test("the adapter's own commit(): a failing COMMIT is rolled back, thrown, and gives the connection back", async (t) => {
  const tx = await raw.startTransaction();
  await tx.executeRaw(query("PRAGMA defer_foreign_keys = ON"));
  await tx.executeRaw(query(`INSERT INTO "RefreshFamily" ("id", "clientId", "userId", "createdAt", "expiresAt") VALUES ('orphan-2', 'nobody', 'nobody', 0, 0)`));
  t.match(await failure(tx.commit()), { name: "DriverAdapterError", cause: { kind: "ForeignKeyConstraintViolation" } });
  t.same(await settledSoon(raw.queryRaw(query(`SELECT count(*) AS "n" FROM "RefreshFamily" WHERE "id" = 'orphan-2'`)).then((r) => r.rows)), [[0]], "rolled back, and the next query runs");
});

t.test("arguments are bound as the stock adapter binds Prisma's argument types", async (t) => {
  const typed = (scalarType: string) => ({ scalarType, arity: "scalar" }) as Parameters<typeof raw.queryRaw>[0]["argTypes"][number];
  // Each value twice: as it reads back, and the storage class SQLite gave it (no column affinity here).
  const bound = async (value: unknown, scalarType: string) =>
    (await raw.queryRaw({ sql: `SELECT ? AS "value", typeof(?) AS "class"`, args: [value, value], argTypes: [typed(scalarType), typed(scalarType)] })).rows[0];
  t.same(await bound("42", "int"), [42, "real"], "int text as a number (a JavaScript number binds as REAL; an INTEGER column's affinity makes it an integer)");
  t.same(await bound("1.25", "decimal"), [1.25, "real"], "decimal text as a number");
  t.same(await bound("0.5", "float"), [0.5, "real"], "float text as a number");
  t.same(await bound("9007199254740993", "bigint"), ["9007199254740993", "integer"], "bigint text as an integer (read back as text past 2^53)");
  t.same(await bound("2031-05-06T22:08:09.123Z", "datetime"), ["2031-05-06T22:08:09.123+00:00", "text"], "a date as ISO 8601 text ending +00:00");
  t.same(await bound(Buffer.from([0, 255]).toString("base64"), "bytes"), [Buffer.from([0, 255]), "blob"], "bytes from base64");
  t.same(await bound(true, "boolean"), [1, "real"], "a boolean as 1");
});

t.test("values read as the column's declared type: a fraction in an INTEGER column is truncated, a number in a DATETIME column is a date", async (t) => {
  await raw.executeScript(`CREATE TABLE "Loose" ("i" INTEGER, "at" DATETIME); INSERT INTO "Loose" VALUES (2.75, 1936000000000)`);
  const { rows, columnTypes } = await raw.queryRaw(query(`SELECT "i", "at" FROM "Loose"`));
  t.same(columnTypes, [ColumnTypeEnum.Int32, ColumnTypeEnum.DateTime]);
  t.same(rows, [[2, "2031-05-08T09:46:40.000Z"]]);
});

t.test("a transaction ended once: ending it again does nothing, using it is refused", async (t) => {
  const tx = await raw.startTransaction();
  await tx.executeRaw(query(`INSERT INTO "ScriptB" ("y") VALUES ('once')`));
  await tx.commit();
  await tx.rollback();
  t.same((await raw.queryRaw(query(`SELECT count(*) FROM "ScriptB" WHERE "y" = 'once'`))).rows, [[1]], "the late rollback undid nothing");
  t.match(await failure(tx.executeRaw(query(`INSERT INTO "ScriptB" ("y") VALUES ('late')`))), { name: "DriverAdapterError", cause: { kind: "TransactionAlreadyClosed" } });
  t.match(await failure(tx.queryRaw(query(`SELECT 1`))), { name: "DriverAdapterError", cause: { kind: "TransactionAlreadyClosed" } });
});

t.test("a unique index on an expression: the violation names no table; an error that is not the driver's passes through", async (t) => {
  await raw.executeScript(`CREATE TABLE "Lower" ("name" TEXT); CREATE UNIQUE INDEX "Lower_name" ON "Lower" (lower("name")); INSERT INTO "Lower" VALUES ('Ada')`);
  const duplicate = await failure(raw.executeRaw(query(`INSERT INTO "Lower" VALUES ('ADA')`)));
  t.match(duplicate, { name: "DriverAdapterError", cause: { kind: "UniqueConstraintViolation", table: undefined } });
  // A bound value better-sqlite3 cannot take fails in the driver's JavaScript, with no SQLite code.
  const unbindable = await raw.executeRaw({ sql: `INSERT INTO "Lower" VALUES (?)`, args: [{ not: "bindable" }], argTypes: [{ scalarType: "unknown", arity: "scalar" }] }).catch((e: unknown) => e);
  t.type(unbindable, TypeError, "thrown as the driver threw it");
});
