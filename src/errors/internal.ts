// Failures that are not the caller's fault and never reach a client as-is.

/** A setting is missing or invalid; the message names the environment variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** A sealed private key does not open: the key-encryption key is not the one it was sealed with. */
export class KeyDecryptionError extends Error {
  override readonly name = "KeyDecryptionError";
}

/**
 * Bad input to a management operation (CLI, admin API): names the field at fault. `code` is the error
 * the admin API answers: invalid_request, or RFC 7591 §3.2.2's codes for client metadata.
 */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  readonly code: "invalid_request" | "invalid_client_metadata" | "invalid_redirect_uri";

  constructor(message: string, code: ValidationError["code"] = "invalid_request") {
    super(message);
    this.code = code;
  }
}

/** The record to change does not exist. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

// Prisma's codes for "the database cannot be reached right now" (connection refused, closed, timed
// out, pool exhausted) and the driver adapters' matching kinds. Shape-based, so that only storage
// imports Prisma.
const UNAVAILABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

// What pg itself throws, unwrapped, when a pooled connection dies or cannot be made; and the
// socket codes and SQLSTATEs (class 08 connection exception, 57P01-3 shutting down) beneath them.
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error)/;
const UNAVAILABLE_SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);

/** True for failures that say nothing about the request: the database is away, retry later. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  if (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code) || code.startsWith("08") || /^57P0[123]$/.test(code)) return true;
  // better-sqlite3 unwrapped (the hand-written statements of direct-sql.ts): another connection holds
  // the write lock past the busy timeout. Through Prisma's adapter the same arrives as SocketTimeout.
  if (code.startsWith("SQLITE_BUSY")) return true;
  if (typeof e?.message === "string" && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  const kind = e?.meta?.driverAdapterError?.cause?.kind;
  return typeof kind === "string" && UNAVAILABLE_KINDS.has(kind);
}
