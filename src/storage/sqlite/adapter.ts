// tessera's Prisma driver adapter for SQLite, written against Prisma's public driver-adapter interface
// (@prisma/driver-adapter-utils: SqlDriverAdapterFactory, SqlDriverAdapter, Transaction). It opens and
// owns its better-sqlite3 connection, and adds two things to what Prisma's own
// @prisma/adapter-better-sqlite3 does:
// - Compiled statements are kept by SQL text (StatementCache). The stock adapter compiles every query
//   anew, which is most of the event-loop time of a short query (~20-40 µs; a refresh rotation makes
//   three): refresh rotations went from ~1,050-1,100/s to ~1,370-1,430/s in bench/run.mjs.
// - One queue for the connection (ConnectionLock). SQLite gives Prisma one connection: the stock adapter
//   orders its transactions, but runs any other query whenever it comes, so a query that came between a
//   transaction's BEGIN and COMMIT became part of it and was undone by its rollback. Here a transaction
//   holds the lock from BEGIN until it commits or rolls back (also when its COMMIT fails), and every
//   query from outside it waits its turn. The statements of direct-sql.ts (sqlite/direct-sql.ts) take the same lock.
// Result and argument mapping and error conversion are the stock adapter's (7.10.0, src/conversion.ts
// and src/errors.ts), which it does not export; ColumnTypeEnum and DriverAdapterError are Prisma's own.
// test/storage/sqlite-adapter.test.ts runs every column type tessera's models use through Prisma's
// client, so an upgrade of Prisma or better-sqlite3 that changes the contract shows there.
import Database from "better-sqlite3";
import {
  ColumnTypeEnum,
  DriverAdapterError,
  type ArgType,
  type ColumnType,
  type ConnectionInfo,
  type IsolationLevel,
  type SqlDriverAdapter,
  type SqlDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
  type TransactionOptions,
} from "@prisma/driver-adapter-utils";

type Statement = Database.Statement<unknown[], unknown>;

/** The path (file:… or a plain path) and better-sqlite3's options, as the stock adapter takes them. */
export type SqliteAdapterConfig = { url: string } & Database.Options;

const ADAPTER_NAME = "tessera-better-sqlite3";

// Prisma writes a handful of SQL texts per query shape; lists of values (IN (?, ?, …)) make more. The
// bound keeps a pathological mix from holding statements without limit: past it, the oldest goes.
const MAX_STATEMENTS = 500;

/** Compiled statements by SQL text. Each call binds its own values: a statement holds none between calls. */
export class StatementCache {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Statement>();
  /** compiled statements, and calls answered without compiling (for tests) */
  compiled = 0;
  reused = 0;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** The statement compiled from `sql`, compiled now unless kept from an earlier call. */
  compiledStatement(sql: string): Statement {
    const cached = this.#statements.get(sql);
    if (cached) {
      this.reused++;
      return cached;
    }
    const statement = this.#db.prepare<unknown[], unknown>(sql);
    this.compiled++;
    if (this.#statements.size >= MAX_STATEMENTS) this.#statements.delete(this.#statements.keys().next().value as string);
    this.#statements.set(sql, statement);
    return statement;
  }
}

/** First come, first served: who holds it runs on the connection, the others queue. */
class ConnectionLock {
  #held = false;
  readonly #queue: (() => void)[] = [];

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  /** Hands the lock to the next in line, or frees it. */
  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#held = false;
  }

  /** Runs synchronous `work` holding the lock: at once when it is free (no one queues then). */
  async exclusive<T>(work: () => T): Promise<T> {
    if (!this.#held) return work();
    await this.acquire();
    try {
      return work();
    } finally {
      this.release();
    }
  }
}

/** The connection one connect() opened, its statements and its lock; shared with direct-sql.ts. */
export class SqliteConnection {
  readonly db: Database.Database;
  readonly statements: StatementCache;
  readonly lock = new ConnectionLock();

  constructor(config: SqliteAdapterConfig) {
    const { url, ...options } = config;
    this.db = new Database(url.replace(/^file:/, ""), options);
    this.db.defaultSafeIntegers(true); // as the stock adapter: integers past 2^53 keep their value
    this.statements = new StatementCache(this.db);
  }

  /** Runs synchronous `work` once no transaction is open, and before the next one begins. */
  exclusive<T>(work: () => T): Promise<T> {
    return this.lock.exclusive(work);
  }

  /** Runs a query, in whatever transaction is open. */
  query(query: SqlQuery): SqlResultSet {
    try {
      const statement = this.statements.compiledStatement(query.sql);
      const args = mapArgs(query);
      if (!statement.reader) {
        statement.run(args);
        return { columnNames: [], columnTypes: [], rows: [] };
      }
      const columns = statement.columns();
      // raw(true): rows as arrays; set on every read, as direct-sql.ts reads the same statements as objects.
      const rows = statement.raw(true).all(args) as unknown[][];
      const columnTypes = columnTypesOf(columns.map((column) => column.type), rows);
      return { columnNames: columns.map((column) => column.name), columnTypes, rows: rows.map((row) => mapRow(row, columnTypes)) };
    } catch (e) {
      throw adapterError(e);
    }
  }

  /** Runs a statement, in whatever transaction is open; how many rows it changed. */
  execute(query: SqlQuery): number {
    try {
      return this.statements.compiledStatement(query.sql).run(mapArgs(query)).changes;
    } catch (e) {
      throw adapterError(e);
    }
  }

  /** Runs a fixed statement (BEGIN, COMMIT, …), compiled once. */
  run(sql: string): void {
    try {
      this.statements.compiledStatement(sql).run();
    } catch (e) {
      throw adapterError(e);
    }
  }
}

class SqliteAdapter implements SqlDriverAdapter {
  readonly provider = "sqlite";
  readonly adapterName = ADAPTER_NAME;
  readonly #connection: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
  }

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.#connection.exclusive(() => this.#connection.query(query));
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.#connection.exclusive(() => this.#connection.execute(query));
  }

  executeScript(script: string): Promise<void> {
    return this.#connection.exclusive(() => {
      try {
        this.#connection.db.exec(script);
      } catch (e) {
        throw adapterError(e);
      }
    });
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    // SQLite's transactions are serializable; Prisma's SQLite client offers no other level.
    if (isolationLevel && isolationLevel !== "SERIALIZABLE") throw new DriverAdapterError({ kind: "InvalidIsolationLevel", level: isolationLevel });
    await this.#connection.lock.acquire();
    try {
      this.#connection.run("BEGIN");
    } catch (e) {
      this.#connection.lock.release();
      throw e;
    }
    return new SqliteTransaction(this.#connection);
  }

  getConnectionInfo(): ConnectionInfo {
    return { supportsRelationJoins: false }; // what Prisma assumes of the stock adapter, which gives none
  }

  dispose(): Promise<void> {
    this.#connection.db.close();
    return Promise.resolve();
  }
}

/**
 * One transaction, holding the connection's lock until commit() or rollback(). Prisma's client sends
 * the COMMIT or ROLLBACK itself (usePhantomQuery: false) and then calls commit() or rollback(), also
 * rollback() after a COMMIT that failed. A transaction whose COMMIT failed is still open in SQLite
 * (a deferred constraint, SQLITE_BUSY), so both end it if it is, and release the lock whatever happens.
 */
class SqliteTransaction implements Transaction {
  readonly provider = "sqlite";
  readonly adapterName = ADAPTER_NAME;
  readonly options: TransactionOptions = { usePhantomQuery: false };
  readonly #connection: SqliteConnection;
  #open = true;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
  }

  // async: a closed transaction or a failing statement rejects, as the adapter contract has it, rather
  // than throwing at the call.
  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    this.#assertOpen();
    return this.#connection.query(query);
  }

  async executeRaw(query: SqlQuery): Promise<number> {
    this.#assertOpen();
    return this.#connection.execute(query);
  }

  commit(): Promise<void> {
    return this.#end("COMMIT");
  }

  rollback(): Promise<void> {
    return this.#end("ROLLBACK");
  }

  async createSavepoint(name: string): Promise<void> {
    await this.executeRaw({ sql: `SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    await this.executeRaw({ sql: `ROLLBACK TO ${name}`, args: [], argTypes: [] });
  }

  async releaseSavepoint(name: string): Promise<void> {
    await this.executeRaw({ sql: `RELEASE SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  async #end(statement: "COMMIT" | "ROLLBACK"): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    const { db } = this.#connection;
    try {
      if (db.inTransaction) this.#connection.run(statement);
    } catch (e) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw e;
    } finally {
      this.#connection.lock.release();
    }
  }

  #assertOpen(): void {
    if (!this.#open) throw new DriverAdapterError({ kind: "TransactionAlreadyClosed", cause: "the transaction has already committed or rolled back" });
  }
}

/** The adapter factory Prisma's client takes (`new PrismaClient({ adapter })`). */
export class SqliteAdapterFactory implements SqlDriverAdapterFactory {
  readonly provider = "sqlite";
  readonly adapterName = ADAPTER_NAME;
  readonly #config: SqliteAdapterConfig;
  /** The connection of the last connect(); null until Prisma connects (lazily, at its first query). */
  connection: SqliteConnection | null = null;

  constructor(config: SqliteAdapterConfig) {
    this.#config = config;
  }

  connect(): Promise<SqlDriverAdapter> {
    this.connection = new SqliteConnection(this.#config);
    return Promise.resolve(new SqliteAdapter(this.connection));
  }
}

// ---- Mapping, from @prisma/adapter-better-sqlite3 7.10.0 src/conversion.ts (not exported there) ----

const DECLARED_TYPES: Record<string, ColumnType> = {
  DECIMAL: ColumnTypeEnum.Numeric,
  FLOAT: ColumnTypeEnum.Float,
  ...Object.fromEntries(["DOUBLE", "DOUBLE PRECISION", "NUMERIC", "REAL"].map((t) => [t, ColumnTypeEnum.Double])),
  ...Object.fromEntries(["TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "SERIAL", "INT2"].map((t) => [t, ColumnTypeEnum.Int32])),
  ...Object.fromEntries(["BIGINT", "UNSIGNED BIG INT", "INT8"].map((t) => [t, ColumnTypeEnum.Int64])),
  DATETIME: ColumnTypeEnum.DateTime,
  TIMESTAMP: ColumnTypeEnum.DateTime,
  TIME: ColumnTypeEnum.Time,
  DATE: ColumnTypeEnum.Date,
  ...Object.fromEntries(
    ["TEXT", "CLOB", "CHARACTER", "VARCHAR", "VARYING CHARACTER", "NCHAR", "NATIVE CHARACTER", "NVARCHAR"].map((t) => [t, ColumnTypeEnum.Text]),
  ),
  BLOB: ColumnTypeEnum.Bytes,
  BOOLEAN: ColumnTypeEnum.Boolean,
  JSONB: ColumnTypeEnum.Json,
};

/** Column types from the declared types; a column without one (an expression) from its first non-null value. */
function columnTypesOf(declared: (string | null)[], rows: unknown[][]): ColumnType[] {
  return declared.map((type, i) => {
    const known = type === null ? undefined : DECLARED_TYPES[type.toUpperCase()];
    if (known !== undefined) return known;
    const value = rows.find((row) => row[i] !== null)?.[i];
    switch (typeof value) {
      case "undefined":
        return ColumnTypeEnum.Int32;
      case "string":
        return ColumnTypeEnum.Text;
      case "bigint":
        return ColumnTypeEnum.Int64;
      // Coverage: better-sqlite3 reads only null, number, bigint, string and Buffer, so the boolean
      // case and the TypeError are unreachable; kept as the stock adapter has them, for a driver
      // that changes that.
      /* c8 ignore start */
      case "boolean":
        return ColumnTypeEnum.Boolean;
      /* c8 ignore stop */
      case "number":
        return ColumnTypeEnum.UnknownNumber;
      default:
        if (value instanceof ArrayBuffer || value instanceof Uint8Array) return ColumnTypeEnum.Bytes;
        /* c8 ignore start */
        throw new TypeError(`unexpected value of type ${typeof value} in column ${i}`);
    }
    /* c8 ignore stop */
  });
}

function mapRow(row: unknown[], columnTypes: ColumnType[]): unknown[] {
  return row.map((value, i) => {
    const type = columnTypes[i];
    if (typeof value === "number" && (type === ColumnTypeEnum.Int32 || type === ColumnTypeEnum.Int64) && !Number.isInteger(value)) return Math.trunc(value);
    if ((typeof value === "number" || typeof value === "bigint") && type === ColumnTypeEnum.DateTime) return new Date(Number(value)).toISOString();
    if (typeof value === "bigint") {
      const asNumber = Number(value);
      return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
    }
    return value;
  });
}

// Dates as ISO 8601 text ending "+00:00", the stock adapter's default: what tessera's databases hold.
function mapArg(arg: unknown, argType: ArgType | undefined): unknown {
  if (arg === null) return null;
  const scalar = argType?.scalarType;
  if (typeof arg === "string") {
    if (scalar === "int") return Number.parseInt(arg);
    if (scalar === "float" || scalar === "decimal") return Number.parseFloat(arg);
    if (scalar === "bigint") return BigInt(arg);
    if (scalar === "datetime") arg = new Date(arg);
    else if (scalar === "bytes") return Buffer.from(arg, "base64");
  }
  if (typeof arg === "boolean") return arg ? 1 : 0;
  if (arg instanceof Date) return arg.toISOString().replace("Z", "+00:00");
  return arg;
}

const mapArgs = (query: SqlQuery) => query.args.map((arg, i) => mapArg(arg, query.argTypes[i]));

// ---- Errors, from @prisma/adapter-better-sqlite3 7.10.0 src/errors.ts (not exported there) ----

const SQLITE_BUSY = 5;
const UNKNOWN_CODE_PREFIX = "UNKNOWN_SQLITE_ERROR_";
const fieldsIn = (message: string) => message.split("constraint failed: ").at(1)?.split(", ");

/** A driver error as Prisma's client reads it (P2002 for a unique violation, …); anything else as is. */
function adapterError(error: unknown): unknown {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code !== "string" || typeof e.message !== "string") return error;
  const { code, message } = e as { code: string; message: string };
  return new DriverAdapterError({ originalCode: code, originalMessage: message, ...mappedError(code, message) });
}

function mappedError(code: string, message: string): ConstructorParameters<typeof DriverAdapterError>[0] {
  switch (code) {
    case "SQLITE_CONSTRAINT_UNIQUE":
    case "SQLITE_CONSTRAINT_PRIMARYKEY": {
      const columns = fieldsIn(message);
      return {
        kind: "UniqueConstraintViolation",
        constraint: columns && { fields: columns.map((column) => column.split(".").pop()!) },
        table: columns?.[0]?.split(".").slice(0, -1).join(".") || undefined,
      };
    }
    case "SQLITE_CONSTRAINT_NOTNULL": {
      const columns = fieldsIn(message);
      return { kind: "NullConstraintViolation", constraint: columns && { fields: columns.map((column) => column.split(".").pop()!) } };
    }
    case "SQLITE_CONSTRAINT_FOREIGNKEY":
    case "SQLITE_CONSTRAINT_TRIGGER":
      return { kind: "ForeignKeyConstraintViolation", constraint: { foreignKey: {} } };
  }
  // Coverage: better-sqlite3 names every result code of the SQLite it bundles, so its name for a code it
  // does not know (a newer SQLite's), UNKNOWN_SQLITE_ERROR_<n>, cannot be produced here; kept as the
  // stock adapter has it. SQLITE_BUSY's own name is what the busy tests reach.
  /* c8 ignore next 3 */
  const extended = code.startsWith(UNKNOWN_CODE_PREFIX) ? Number(code.slice(UNKNOWN_CODE_PREFIX.length)) : undefined;
  const extendedCode = Number.isInteger(extended) ? extended : undefined;
  if (code.startsWith("SQLITE_BUSY") || (extendedCode !== undefined && (extendedCode & 0xff) === SQLITE_BUSY)) return { kind: "SocketTimeout" };
  if (message.startsWith("no such table")) return { kind: "TableDoesNotExist", table: message.split(": ").at(1) };
  if (message.startsWith("no such column")) return { kind: "ColumnNotFound", column: message.split(": ").at(1) };
  if (message.includes("has no column named ")) return { kind: "ColumnNotFound", column: message.split("has no column named ").at(1) };
  return { kind: "sqlite", extendedCode: extendedCode ?? 1, message };
}
