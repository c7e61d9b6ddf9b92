// The statements that run beneath Prisma's client (src/storage/direct-sql.ts), on a real database of
// either provider: values bound and rows read as Prisma's own queries bind and read them, each
// statement reported to the query observer, SQLite transactions that roll back, and SQLite's direct
// statements kept out of a Prisma transaction that is open on the shared connection.
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

if (direct.provider === "sqlite") {
  const sqlite = direct;

  t.test("SQLite: a transaction commits what its work changed, and rolls all of it back if the work throws", async (t) => {
    t.equal(await sqlite.transaction((changes) => changes(insertClient("x1", false)) + changes(insertClient("x2", false))), 2);
    t.equal(await db.client.count({ where: { id: { in: ["x1", "x2"] } } }), 2);
    const failed = await sqlite.transaction((changes) => {
      changes(insertClient("x3", false));
      return changes(insertClient("x1", false)); // duplicate: throws
    }).catch(() => "failed");
    t.equal(failed, "failed");
    t.equal(await db.client.count({ where: { id: "x3" } }), 0, "the first insert was rolled back");
  });

  t.test("SQLite: direct statements wait for an open Prisma transaction and survive its rollback", async (t) => {
    let outside: Promise<unknown> | undefined;
    const failed = await db.$transaction(async (tx) => {
      await tx.client.create({ data: { id: "in-tx", name: "in-tx", grantTypes: "client_credentials" } });
      outside = Promise.all([sqlite.changes(insertClient("y1", false)), sqlite.transaction((changes) => changes(insertClient("y2", false)))]);
      for (let i = 0; i < 5; i++) await new Promise(setImmediate);
      t.equal(await tx.client.count({ where: { id: { in: ["y1", "y2"] } } }), 0, "they have not run inside it");
      throw new Error("roll back");
    }).catch((e: Error) => e.message);
    t.equal(failed, "roll back");
    t.same(await outside, [1, 1]);
    t.equal(await db.client.count({ where: { id: "in-tx" } }), 0);
    t.equal(await db.client.count({ where: { id: { in: ["y1", "y2"] } } }), 2, "both stand");
  });
}
