// isDatabaseUnavailable tells "the database is away, retry later" (a 503) from every other failure (a
// 500, or the caller's fault) by the shapes Prisma, its driver adapters, pg and better-sqlite3 throw.
import t from "tap";
import { isDatabaseUnavailable, NotFoundError, ValidationError } from "../../src/errors/internal.js";

const withCode = (code: unknown, message = "failed") => Object.assign(new Error(message), { code });

t.test("the database is away: Prisma's codes, socket codes, SQLSTATEs of class 08 and 57P01-3, SQLite's busy lock", async (t) => {
  for (const code of ["P1001", "P1017", "P2024", "ECONNREFUSED", "ECONNRESET", "EPIPE", "08006", "08001", "57P01", "57P03", "SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT"]) {
    t.equal(isDatabaseUnavailable(withCode(code)), true, code);
  }
});

t.test("pg's own errors without a code are known by their message", async (t) => {
  // pg throws these as plain Errors when a pooled connection dies or a connect times out.
  for (const message of ["Connection terminated unexpectedly", "Connection terminated due to connection timeout", "timeout exceeded when trying to connect", "Query read timeout"]) {
    t.equal(isDatabaseUnavailable(new Error(message)), true, message);
  }
  t.equal(isDatabaseUnavailable(new Error("the Connection terminated here")), false, "only at the start of the message");
});

t.test("a driver adapter's error, wrapped by Prisma, is known by its kind", async (t) => {
  const wrapped = (kind: string) => Object.assign(new Error("driver adapter error"), { code: "P2010", meta: { driverAdapterError: { cause: { kind } } } });
  t.equal(isDatabaseUnavailable(wrapped("DatabaseNotReachable")), true);
  t.equal(isDatabaseUnavailable(wrapped("SocketTimeout")), true);
  t.equal(isDatabaseUnavailable(wrapped("UniqueConstraintViolation")), false);
});

t.test("anything else is not: a constraint, a missing record, bad input, a bug, or no error object at all", async (t) => {
  const cases: Array<[string, unknown]> = [
    ["a unique constraint (P2002)", withCode("P2002")],
    ["PostgreSQL's unique_violation (23505)", withCode("23505")],
    ["a numeric code (SQLite's errno)", withCode(5)],
    ["NotFoundError", new NotFoundError("client x not found")],
    ["ValidationError", new ValidationError("name: must not be empty")],
    ["a TypeError", new TypeError("x is undefined")],
    ["a message that is no string", { message: 42 }],
    ["null", null],
    ["undefined", undefined],
    ["a string", "Connection terminated"],
  ];
  for (const [name, error] of cases) t.equal(isDatabaseUnavailable(error), false, name);
});
