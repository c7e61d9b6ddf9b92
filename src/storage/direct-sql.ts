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
// (never inside an open transaction: sqlite/adapter.ts); on PostgreSQL the adapter's pool. Values
// are bound as Prisma's adapters bind them, so rows read the same whichever way they were written:
// dates as ISO 8601 text ending "+00:00" on SQLite and as UTC timestamp(3) on PostgreSQL, booleans as
// 1/0 on SQLite. Rows come back as the driver gives them (dates as text on SQLite, booleans as
// integers); asDate and asFlag read both.
//
// The statements are written once for both databases; what differs is behind this interface, one file
// per database (sqlite/direct-sql.ts, postgresql/direct-sql.ts): how a transaction runs, row locks,
// and an insert that depends on an update.
import type { Sql } from "@prisma/client/runtime/client";

type Row = Record<string, unknown>;

/**
 * A step of a transaction: a write, which stops the transaction and undoes it when it changes another
 * number of rows than `expect` (when given); or a lock (SELECT … FOR UPDATE), which runs on PostgreSQL
 * only (SQLite's BEGIN IMMEDIATE holds the whole database already).
 */
export type Step = { write: Sql; expect?: number } | { lock: Sql };

export type DirectSql = {
  readonly provider: "sqlite" | "postgresql";
  /**
   * Ends a subquery whose rows must not change until the statement's transaction ends: FOR SHARE on
   * PostgreSQL (a concurrent UPDATE of the row waits, and a statement that waited re-reads it); empty on
   * SQLite, which runs one write at a time.
   */
  readonly forShare: Sql;
  /** The rows of a SELECT, keyed by column name. */
  rows<T extends Row>(query: Sql): Promise<T[]>;
  /** How many rows a statement inserted, updated or deleted. */
  changes(query: Sql): Promise<number>;
  /**
   * Runs the steps in one transaction, in order. Each write's count of changed rows, in order; null, and
   * nothing written, when a write changed another number of rows than it expected. A failing statement
   * rolls back the transaction and rejects with the driver's error.
   */
  transaction(steps: Step[]): Promise<number[] | null>;
  /**
   * `update`, then, only if it changed exactly one row, `INSERT INTO ${into} VALUES (${values})`, as one
   * unit: true when both wrote their row, false when the update matched nothing (and nothing was written).
   */
  insertIfUpdated(update: Sql, into: Sql, values: Sql): Promise<boolean>;
};

/** Thrown inside either database's transaction to undo it: a write changed another number of rows than expected. */
export class Rollback extends Error {}

/**
 * Whether a foreign key refused one of these statements (the row it names was deleted meanwhile): the
 * driver's own code, as the statements bypass Prisma (whose P2003 is isForeignKeyViolation in
 * prisma.ts): SQLite's SQLITE_CONSTRAINT_FOREIGNKEY, PostgreSQL's 23503.
 */
export const isForeignKeyCode = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_FOREIGNKEY" || code === "23503";
};

/** A date column as either driver returns it. */
export const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));
/** A boolean column as either driver returns it (SQLite: 0/1, as a bigint with Prisma's safe integers). */
export const asFlag = (value: unknown): boolean => value === true || value === 1 || value === 1n;
