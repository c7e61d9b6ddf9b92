// The statements that run beneath Prisma's client (src/storage/direct-sql.ts), on a real database of
// either provider: values bound and rows read as Prisma's own queries bind and read them, each
// statement reported to the query observer, transactions that commit, fail or roll back on a count,
// an insert that depends on an update, and SQLite's direct statements kept out of a Prisma transaction
// that is open on the shared connection.
// The process runs at UTC+5:30 here, so a date read or bound in local time would be off by hours.
process.env.TZ = "Asia/Kolkata";
import { sqltag as sql } from "@prisma/client/runtime/client";
import t from "tap";
import { asDate, asFlag } from "../../src/storage/direct-sql.js";
import { applyMigrations } from "../../src/storage/migrate.js";
import { directSqlOf, openDb } from "../../src/storage/prisma.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";

const url = await freshDatabaseUrl(t);
await applyMigrations(url);
const observed: string[] = [];
const db = await openDb(url, (text) => observed.push(text));
t.teardown(() => db.$disconnect());
const direct = directSqlOf(db);

// Odd milliseconds, and a time whose local date differs from its UTC date at UTC+5:30.
const AT = new Date(Date.UTC(2031, 4, 6, 22, 8, 9, 123));
type ClientRow = { id: string; enabled: unknown; firstParty: unknown; createdAt: unknown };
const readClient = async (id: string) =>
  (await direct.rows<ClientRow>(sql`SELECT "id", "enabled", "firstParty", "createdAt" FROM "Client" WHERE "id" = ${id}`))[0];
const insertClient = (id: string, firstParty: boolean) =>
  sql`INSERT INTO "Client" ("id", "name", "grantTypes", "firstParty", "createdAt", "updatedAt") VALUES (${id}, ${id}, ${"client_credentials"}, ${firstParty}, ${AT}, ${AT})`;

t.equal(direct.provider, TEST_PROVIDER);

t.test("rows read what Prisma wrote: dates to the millisecond in UTC, booleans", async (t) => {
  await db.client.create({ data: { id: "p1", name: "p1", grantTypes: "client_credentials", firstParty: true, createdAt: AT } });
  const row = await readClient("p1");
  t.equal(asDate(row!.createdAt).toISOString(), AT.toISOString());
  t.equal(asFlag(row!.enabled), true);
  t.equal(asFlag(row!.firstParty), true);
  t.same(await direct.rows(sql`SELECT "id" FROM "Client" WHERE "id" = ${"nobody"}`), [], "no match: no rows");
});

t.test("asDate and asFlag read both drivers' shapes: SQLite's text and integers, PostgreSQL's Date and booleans", async (t) => {
  t.equal(asDate("2031-05-06T22:08:09.123+00:00").toISOString(), AT.toISOString(), "SQLite: ISO 8601 text");
  t.equal(asDate(AT), AT, "PostgreSQL: the Date itself");
  t.same([asFlag(1), asFlag(1n), asFlag(0), asFlag(0n)], [true, true, false, false], "SQLite: 1 and 0, as numbers or bigints");
  t.same([asFlag(true), asFlag(false)], [true, false], "PostgreSQL: booleans");
});

t.test("a client that openDb did not make has no direct statements", async (t) => {
  t.throws(() => directSqlOf({} as typeof db), new TypeError("not a client made by openDb"));
});

t.test("Prisma reads what these statements wrote", async (t) => {
  t.equal(await direct.changes(insertClient("d1", false)), 1);
  const stored = await db.client.findUniqueOrThrow({ where: { id: "d1" } });
  t.equal(stored.createdAt.toISOString(), AT.toISOString(), "the date, bound as UTC");
  t.equal(stored.firstParty, false, "the boolean");
  t.equal(await direct.changes(sql`UPDATE "Client" SET "firstParty" = ${true} WHERE "id" = ${"d1"} AND "createdAt" = ${AT}`), 1, "a date compares equal to the stored one");
  t.equal((await db.client.findUniqueOrThrow({ where: { id: "d1" } })).firstParty, true);
  t.equal(await direct.changes(sql`DELETE FROM "Client" WHERE "id" = ${"nobody"}`), 0, "no match: no change");
});

t.test("each statement is reported to the query observer, by its SQL text", async (t) => {
  const before = observed.length;
  await readClient("d1");
  t.equal(observed.length, before + 1);
  t.match(observed.at(-1), /SELECT "id", "enabled"/);
});

t.test("a failing statement rejects with the driver's error and changes nothing", async (t) => {
  const error = await direct.changes(insertClient("d1", true)).catch((e: { code?: unknown }) => e);
  t.match(error, { code: TEST_PROVIDER === "sqlite" ? "SQLITE_CONSTRAINT_PRIMARYKEY" : "23505" }, "duplicate key");
  t.equal(asFlag((await readClient("d1"))!.firstParty), true);
});

t.test("a transaction commits its writes and answers each one's count of changed rows", async (t) => {
  t.same(await direct.transaction([{ write: insertClient("x1", false) }, { write: insertClient("x2", false), expect: 1 }]), [1, 1]);
  t.equal(await db.client.count({ where: { id: { in: ["x1", "x2"] } } }), 2);
  const lock = sql`SELECT "id" FROM "Client" WHERE "id" = ${"x1"} FOR UPDATE`;
  t.same(await direct.transaction([{ lock }, { write: sql`DELETE FROM "Client" WHERE "id" = ${"x2"}` }]), [1], "a lock step counts nothing");
});

t.test("a failing statement rolls the whole transaction back, and rejects with the driver's error", async (t) => {
  const failed = await direct.transaction([{ write: insertClient("x3", false) }, { write: insertClient("x1", false) }]).catch((e: { code?: unknown }) => e);
  t.match(failed, { code: TEST_PROVIDER === "sqlite" ? "SQLITE_CONSTRAINT_PRIMARYKEY" : "23505" }, "duplicate key");
  t.equal(await db.client.count({ where: { id: "x3" } }), 0, "the first insert was rolled back");
});

t.test("a write that changes another number of rows than it expects rolls the transaction back: null", async (t) => {
  const done = await direct.transaction([
    { write: insertClient("x4", false), expect: 1 },
    { write: sql`UPDATE "Client" SET "name" = ${"renamed"} WHERE "id" = ${"nobody"}`, expect: 1 },
    { write: insertClient("x5", false) },
  ]);
  t.equal(done, null);
  t.equal(await db.client.count({ where: { id: { in: ["x4", "x5"] } } }), 0, "nothing was written, before or after");
});

t.test("insertIfUpdated inserts only after an update of exactly one row, both or neither", async (t) => {
  const into = sql`"Client" ("id", "name", "grantTypes", "firstParty", "createdAt", "updatedAt")`;
  const values = (id: string) => sql`${id}, ${id}, ${"client_credentials"}, ${false}, ${AT}, ${AT}`;
  const rename = (from: string, to: string) => sql`UPDATE "Client" SET "name" = ${to} WHERE "id" = ${"x1"} AND "name" = ${from}`;
  t.equal(await direct.insertIfUpdated(rename("x1", "x1 once"), into, values("x6")), true);
  t.equal((await db.client.findUniqueOrThrow({ where: { id: "x1" } })).name, "x1 once");
  t.equal(await db.client.count({ where: { id: "x6" } }), 1, "the insert followed the update");
  t.equal(await direct.insertIfUpdated(rename("x1", "x1 twice"), into, values("x7")), false, "the update matched nothing");
  t.equal(await db.client.count({ where: { id: "x7" } }), 0, "so nothing was inserted");
  const taken = await direct.insertIfUpdated(rename("x1 once", "x1 taken"), into, values("x6")).catch((e: { code?: unknown }) => e);
  t.match(taken, { code: TEST_PROVIDER === "sqlite" ? "SQLITE_CONSTRAINT_PRIMARYKEY" : "23505" }, "an insert that fails rejects");
  t.equal((await db.client.findUniqueOrThrow({ where: { id: "x1" } })).name, "x1 once", "and undoes its update");
});

if (direct.provider === "sqlite") {
  const sqlite = direct;

  t.test("SQLite: direct statements wait for an open Prisma transaction and survive its rollback", async (t) => {
    let outside: Promise<unknown> | undefined;
    const failed = await db.$transaction(async (tx) => {
      await tx.client.create({ data: { id: "in-tx", name: "in-tx", grantTypes: "client_credentials" } });
      outside = Promise.all([sqlite.changes(insertClient("y1", false)), sqlite.transaction([{ write: insertClient("y2", false) }])]);
      for (let i = 0; i < 5; i++) await new Promise(setImmediate);
      t.equal(await tx.client.count({ where: { id: { in: ["y1", "y2"] } } }), 0, "they have not run inside it");
      throw new Error("roll back");
    }).catch((e: Error) => e.message);
    t.equal(failed, "roll back");
    t.same(await outside, [1, [1]]);
    t.equal(await db.client.count({ where: { id: "in-tx" } }), 0);
    t.equal(await db.client.count({ where: { id: { in: ["y1", "y2"] } } }), 2, "both stand");
  });
}
