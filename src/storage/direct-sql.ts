// Hand-written statements run on the driver connection beneath Prisma's adapter, not through Prisma's
// client. The client interprets a query plan and maps every argument and result for each call: about
// a third of the event loop of a refresh rotation, which is three short statements (bench/run.mjs,
// CPU profile). Only the statements of the hottest paths come here: a refresh rotation
// (RefreshTokenRepository) and a code flow with a live session and remembered consent (the browser
// session with its user, the grant, the code's insert, read and exchange: from ~2.6 to ~0.8 ms of
// server CPU per flow on SQLite and from ~3.0 to ~1.1 ms on PostgreSQL, bench/run.mjs "code flows",
// same hour); everything else goes through Prisma.
//
// Same connections as Prisma: on SQLite the adapter's one connection, in turn with Prisma's queries
// (never inside an open transaction: sqlite-adapter.ts); on PostgreSQL the adapter's pool. Values are
// bound as Prisma's adapters bind them, so rows read the same whichever way they were written: dates
// as ISO 8601 text ending "+00:00" on SQLite and as UTC timestamp(3) on PostgreSQL, booleans as 1/0 on
// SQLite. Rows come back as the driver gives them (dates as text on SQLite, booleans as integers);
// asDate and asFlag read both.
import type BetterSqlite3 from "better-sqlite3";
import type { Sql } from "@prisma/client/runtime/client";
import type pg from "pg";
import type { QueryObserver } from "./prisma.js";
import type { SqliteAdapterFactory } from "./sqlite-adapter.js";

type Row = Record<string, unknown>;

type Queries = {
  /** The rows of a SELECT, keyed by column name. */
  rows<T extends Row>(query: Sql): Promise<T[]>;
  /** How many rows a statement inserted, updated or deleted. */
  changes(query: Sql): Promise<number>;
};

/** Statements inside a SQLite transaction: synchronous, so nothing else runs between them. */
export type SyncChanges = (query: Sql) => number;

export type DirectSql =
  | (Queries & {
      readonly provider: "postgresql";
      /** Runs `work` in one transaction (READ COMMITTED) on one pooled connection; rolled back if it throws. */
      transaction<T>(work: (queries: Queries) => Promise<T>): Promise<T>;
    })
  | (Queries & {
      readonly provider: "sqlite";
      /** Runs `work` in one transaction (BEGIN IMMEDIATE), rolled back if it throws. */
      transaction<T>(work: (changes: SyncChanges) => T): Promise<T>;
    });

/** A date column as either driver returns it. */
export const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));
/** A boolean column as either driver returns it (SQLite: 0/1, as a bigint with Prisma's safe integers). */
export const asFlag = (value: unknown): boolean => value === true || value === 1 || value === 1n;

const observed = <T>(onQuery: QueryObserver | undefined, text: string, run: () => T): T => {
  if (!onQuery) return run();
  const started = performance.now();
  try {
    return run();
  } finally {
    onQuery(text, performance.now() - started);
  }
};

const sqliteValue = (v: unknown) => (v instanceof Date ? v.toISOString().replace("Z", "+00:00") : typeof v === "boolean" ? Number(v) : v);

/** Statements on the SQLite connection that `factory` opened for Prisma (connected by then). */
export function sqliteDirectSql(factory: SqliteAdapterFactory, onQuery?: QueryObserver): DirectSql {
  const connection = factory.connection;
  if (!connection) throw new TypeError("the SQLite adapter has not connected yet");
  const { db, statements } = connection;
  const statement = (query: Sql) => statements.compiledStatement(query.sql);
  const values = (query: Sql) => query.values.map(sqliteValue);
  const changes: SyncChanges = (query) => observed(onQuery, query.sql, () => statement(query).run(values(query)).changes);
  // Made once: better-sqlite3 builds a transaction function's BEGIN/COMMIT statements when it is made.
  const inTransaction = db.transaction((work: (changes: SyncChanges) => unknown) => work(changes));
  return {
    provider: "sqlite",
    rows<T extends Row>(query: Sql) {
      // raw(false): objects; the statement may be shared with Prisma's queries, which read arrays.
      return connection.exclusive(() => observed(onQuery, query.sql, () => statement(query).raw(false).all(values(query)) as T[]));
    },
    changes(query) {
      return connection.exclusive(() => changes(query));
    },
    transaction<T>(work: (changes: SyncChanges) => T) {
      return connection.exclusive(() => inTransaction.immediate(work) as T);
    },
  };
}

// A UTC timestamp(3) as PostgreSQL writes it in text ("2031-05-06 07:08:09.123"); pg's own parser would
// read it in the process's time zone.
const TIMESTAMP_OID = 1114;
const utcTimestamp = (text: string) => new Date(`${text.replace(" ", "T")}Z`);

/** Pool settings that read timestamp columns as UTC, as Prisma writes them. */
export const pgTypes = (types: typeof pg.types): pg.CustomTypesConfig => ({
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID && format !== "binary" ? utcTimestamp : types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
});

/** Statements on the pool Prisma's adapter uses; each SQL text is prepared once per connection. */
export function pgDirectSql(pool: pg.Pool, onQuery?: QueryObserver): DirectSql {
  const names = new Map<string, string>();
  const nameOf = (text: string) => names.get(text) ?? names.set(text, `tessera_${names.size + 1}`).get(text)!;
  // PostgreSQL reads the zone of a timestamp literal only for timestamptz; Prisma's columns are UTC
  // timestamp(3), so a date goes as its UTC ISO text (pg would send local time).
  const on = (connection: pg.Pool | pg.PoolClient) => async (q: Sql) => {
    const started = performance.now();
    const values = q.values.map((v) => (v instanceof Date ? v.toISOString() : v));
    const result = await connection.query({ name: nameOf(q.text), text: q.text, values });
    onQuery?.(q.text, performance.now() - started);
    return result;
  };
  const queries = (query: ReturnType<typeof on>): Queries => ({
    rows: async <T extends Row>(q: Sql) => (await query(q)).rows as T[],
    changes: async (q) => (await query(q)).rowCount ?? 0,
  });
  return {
    provider: "postgresql",
    ...queries(on(pool)),
    async transaction<T>(work: (q: Queries) => Promise<T>) {
      const client = await pool.connect();
      // A connection whose BEGIN, COMMIT or ROLLBACK failed is dropped, not reused: its state is unknown.
      let broken: Error | undefined;
      const control = (text: string) => client.query(text).catch((e: Error) => Promise.reject((broken = e)));
      try {
        await control("BEGIN");
        let result: T;
        try {
          result = await work(queries(on(client)));
        } catch (error) {
          await control("ROLLBACK").catch(() => undefined);
          throw error;
        }
        await control("COMMIT");
        return result;
      } finally {
        client.release(broken);
      }
    },
  };
}
