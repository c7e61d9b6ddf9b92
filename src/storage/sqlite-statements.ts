// Prisma's SQLite adapter compiles every query anew: it calls better-sqlite3's prepare(sql) for each
// call and binds that one statement to the call's values. Compiling is most of the event-loop time of
// a short query (~20-40 µs each; a refresh rotation makes three). StatementCache keeps each compiled
// statement by its SQL text and gives the adapter a fresh binding of it on every call: refresh
// rotations went from ~1,050-1,100/s to ~1,370-1,430/s in bench/run.mjs (same machine, same hour).
//
// It wraps the adapter's own connection, so Prisma's transactions and locking are unchanged. It relies
// on how @prisma/adapter-better-sqlite3 (pinned in package.json) uses its connection: prepare(sql)
// then run(), or bind(values) then reader / columns() / run() / raw().all(). The storage tests check
// that queries still reach the statements through the cache (test/storage/sqlite-statements.test.ts).
import type BetterSqlite3 from "better-sqlite3";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

/** What the adapter uses of a statement bound to one call's values. */
type Binding = {
  readonly reader: boolean;
  columns(): ReturnType<Statement["columns"]>;
  run(): ReturnType<Statement["run"]>;
  raw(): { all(): unknown[] };
};

/** What the adapter uses of a prepared statement. */
type Prepared = { run(): ReturnType<Statement["run"]>; bind(values: unknown[]): Binding };

// Prisma writes a handful of SQL texts per query shape; lists of values (IN (?, ?, …)) make more. The
// bound keeps a pathological mix from holding statements without limit: past it, the oldest goes.
const MAX_STATEMENTS = 500;

export class StatementCache {
  readonly #prepare: (sql: string) => Statement;
  readonly #statements = new Map<string, Statement>();
  /** compiled statements, and calls answered without compiling (for tests) */
  compiled = 0;
  reused = 0;

  constructor(db: Database) {
    this.#prepare = db.prepare.bind(db);
  }

  prepare(sql: string): Prepared {
    const statement = this.#statement(sql);
    return {
      run: () => statement.run(),
      bind: (values) => ({
        reader: statement.reader,
        columns: () => statement.columns(),
        run: () => statement.run(values),
        // raw: rows as arrays, as the adapter reads them; set on every read, as the statement is shared.
        raw: () => ({ all: () => statement.raw(true).all(values) }),
      }),
    };
  }

  #statement(sql: string): Statement {
    const cached = this.#statements.get(sql);
    if (cached) {
      this.reused++;
      return cached;
    }
    const statement = this.#prepare(sql);
    this.compiled++;
    if (this.#statements.size >= MAX_STATEMENTS) this.#statements.delete(this.#statements.keys().next().value as string);
    this.#statements.set(sql, statement);
    return statement;
  }
}

/** The adapter factory, with each connection it opens answering prepare() from a StatementCache. */
export class CachingBetterSqlite3 extends PrismaBetterSqlite3 {
  /** the cache of the last connection opened; null until Prisma connects */
  statements: StatementCache | null = null;

  override async connect(): Promise<Awaited<ReturnType<PrismaBetterSqlite3["connect"]>>> {
    const adapter = await super.connect();
    // The adapter keeps its better-sqlite3 connection as `client` (not in its type declarations).
    const connection = (adapter as unknown as { client?: Database }).client;
    if (typeof connection?.prepare === "function") {
      const cache = new StatementCache(connection);
      (connection as unknown as { prepare: (sql: string) => Prepared }).prepare = (sql) => cache.prepare(sql);
      this.statements = cache;
    }
    return adapter;
  }
}
