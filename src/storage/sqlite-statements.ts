// Prisma's SQLite adapter compiles every query anew: it calls better-sqlite3's prepare(sql) for each
// call and binds that one statement to the call's values. Compiling is most of the event-loop time of
// a short query (~20-40 µs each; a refresh rotation makes three). StatementCache keeps each compiled
// statement by its SQL text and gives the adapter a fresh binding of it on every call: refresh
// rotations went from ~1,050-1,100/s to ~1,370-1,430/s in bench/run.mjs (same machine, same hour).
//
// It wraps the adapter's own connection, so Prisma's transactions and locking are unchanged; the
// TransactionGate below adds what the adapter lacks, that queries outside a transaction wait for it.
// It relies on how @prisma/adapter-better-sqlite3 (pinned in package.json) uses its connection:
// prepare(sql) then run(), or bind(values) then reader / columns() / run() / raw().all(); and on its
// startTransaction, commit and rollback. The storage tests check both (sqlite-statements.test.ts).
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
    const statement = this.compiledStatement(sql);
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

  /** The statement compiled from `sql`, compiled now unless kept from an earlier call. */
  compiledStatement(sql: string): Statement {
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

/**
 * Keeps work that runs outside Prisma's transactions out of them. The adapter's mutex orders its
 * transactions, but its other queries run on the one connection whenever they come, and one that came
 * between a transaction's BEGIN and COMMIT would be part of it: undone by that transaction's rollback.
 */
export class TransactionGate {
  readonly #connection: Database;
  #ended!: Promise<void>;
  #end!: () => void;

  constructor(connection: Database) {
    this.#connection = connection;
    this.#arm();
  }

  /** Resolves once no transaction is open on the connection (at once when none is). */
  async closed(): Promise<void> {
    // A loop: the next queued transaction may begin before this waiter runs.
    while (this.#connection.inTransaction) await this.#ended;
  }

  /** Told by the adapter's transaction once its COMMIT or ROLLBACK has run. */
  ended(): void {
    this.#end();
    this.#arm();
  }

  #arm(): void {
    this.#ended = new Promise((resolve) => (this.#end = resolve));
  }
}

type Queryable = { queryRaw(q: unknown): Promise<unknown>; executeRaw(q: unknown): Promise<unknown> };
type Transaction = { commit(): Promise<void>; rollback(): Promise<void> };
type Adapter = Queryable & { client?: Database; startTransaction(level?: unknown): Promise<Transaction> };

/**
 * The adapter factory, with each connection it opens answering prepare() from a StatementCache and its
 * queries outside transactions waiting for the open one to end (TransactionGate).
 */
export class CachingBetterSqlite3 extends PrismaBetterSqlite3 {
  /** the last connection opened, its cache and its gate; null until Prisma connects */
  statements: StatementCache | null = null;
  connection: Database | null = null;
  gate: TransactionGate | null = null;

  override async connect(): Promise<Awaited<ReturnType<PrismaBetterSqlite3["connect"]>>> {
    const opened = await super.connect();
    // The adapter keeps its better-sqlite3 connection as `client` (not in its type declarations).
    const adapter = opened as unknown as Adapter;
    const connection = adapter.client;
    if (typeof connection?.prepare === "function") {
      const cache = new StatementCache(connection);
      (connection as unknown as { prepare: (sql: string) => Prepared }).prepare = (sql) => cache.prepare(sql);
      this.statements = cache;
      this.connection = connection;
      this.gate = gateTransactions(adapter, connection);
    }
    return opened;
  }
}

function gateTransactions(adapter: Adapter, connection: Database): TransactionGate {
  const gate = new TransactionGate(connection);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (level) => {
    const tx = await startTransaction(level);
    const [commit, rollback] = [tx.commit.bind(tx), tx.rollback.bind(tx)];
    tx.commit = () => commit().finally(() => gate.ended());
    tx.rollback = () => rollback().finally(() => gate.ended());
    return tx;
  };
  // Only the adapter's own methods: a transaction's queries run on their transaction object.
  for (const method of ["queryRaw", "executeRaw"] as const) {
    const run = adapter[method].bind(adapter);
    adapter[method] = async (query) => {
      if (connection.inTransaction) await gate.closed();
      return run(query);
    };
  }
  return gate;
}
