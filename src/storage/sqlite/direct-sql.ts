// The statements of direct-sql.ts on SQLite: on the connection the adapter opened for Prisma, in turn
// with Prisma's queries (its lock). better-sqlite3 runs them synchronously, so a transaction's steps
// run with nothing else between them.
import { empty, sqltag as sql, type Sql } from "@prisma/client/runtime/client";
import { Rollback, type DirectSql, type Step } from "../direct-sql.js";
import type { QueryObserver } from "../prisma.js";
import type { SqliteAdapterFactory } from "./adapter.js";

const sqliteValue = (v: unknown) => (v instanceof Date ? v.toISOString().replace("Z", "+00:00") : typeof v === "boolean" ? Number(v) : v);

/** Statements on the SQLite connection that `factory` opened for Prisma (connected by then). */
export function sqliteDirectSql(factory: SqliteAdapterFactory, onQuery?: QueryObserver): DirectSql {
  const connection = factory.connection;
  if (!connection) throw new TypeError("the SQLite adapter has not connected yet");
  const { db, statements } = connection;
  const observed = <T>(text: string, run: () => T): T => {
    if (!onQuery) return run();
    const started = performance.now();
    try {
      return run();
    } finally {
      onQuery(text, performance.now() - started);
    }
  };
  const statement = (query: Sql) => statements.compiledStatement(query.sql);
  const values = (query: Sql) => query.values.map(sqliteValue);
  const changes = (query: Sql) => observed(query.sql, () => statement(query).run(values(query)).changes);
  // Made once: better-sqlite3 builds a transaction function's BEGIN/COMMIT statements when it is made.
  // BEGIN IMMEDIATE holds the database's write lock from the start: the locks a PostgreSQL transaction
  // takes row by row are implied.
  const inTransaction = db.transaction((steps: Step[]) =>
    steps.flatMap((step) => {
      if ("lock" in step) return [];
      const changed = changes(step.write);
      if (step.expect !== undefined && changed !== step.expect) throw new Rollback();
      return [changed];
    }),
  );
  const transaction = (steps: Step[]) =>
    connection.exclusive(() => inTransaction.immediate(steps)).catch((error: unknown) => {
      if (error instanceof Rollback) return null;
      throw error;
    });
  return {
    provider: "sqlite",
    forShare: empty,
    rows<T extends Record<string, unknown>>(query: Sql) {
      // raw(false): objects; the statement may be shared with Prisma's queries, which read arrays.
      return connection.exclusive(() => observed(query.sql, () => statement(query).raw(false).all(values(query)) as T[]));
    },
    changes(query) {
      return connection.exclusive(() => changes(query));
    },
    transaction,
    // SQLite has no UPDATE inside a WITH clause: two statements in one transaction.
    async insertIfUpdated(update, into, insertValues) {
      const steps = [{ write: update, expect: 1 }, { write: sql`INSERT INTO ${into} VALUES (${insertValues})`, expect: 1 }];
      return (await transaction(steps)) !== null;
    },
  };
}
