// The one line printed for a start-up failure an operator can fix (a setting, a port, the database),
// instead of a stack trace. Shared by the server and the CLI.
import type { Config } from "../config/schema.js";

type Errno = Error & { code?: string; syscall?: string; address?: string; port?: number; hostname?: string; errors?: unknown[] };

/** The one line to print for a failure an operator can fix, or undefined for a bug (stack trace). */
export function describeStartFailure(error: unknown, config?: Pick<Config, "host" | "port" | "databaseUrl">): string | undefined {
  const e = error as Errno;
  if (e?.name === "ConfigError" || e?.name === "KeyDecryptionError") return e.message;
  const code = e?.code ?? (e?.errors?.[0] as Errno | undefined)?.code;
  const where = config ? `${config.host}:${config.port}` : "the address";
  if (e?.syscall === "listen") {
    if (code === "EADDRINUSE") return `cannot listen on ${where}: the port is in use (PORT, HOST)`;
    if (code === "EACCES") return `cannot listen on ${where}: permission denied (PORT below 1024 needs privileges; PORT, HOST)`;
    if (code === "EADDRNOTAVAIL") return `cannot listen on ${where}: no such address on this machine (HOST)`;
  }
  if (code === "3D000") return `${e.message} on the PostgreSQL server (DATABASE_URL); create it first (createdb)`;
  if (code === "28P01" || code === "28000") return `PostgreSQL refused the credentials (DATABASE_URL): ${e.message}`;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "EHOSTUNREACH" || code === "EAI_AGAIN") {
    const first = (e.errors?.[0] as Errno | undefined) ?? e;
    const target = first.hostname ?? (first.address ? `${first.address}:${first.port}` : "the database");
    const database = config?.databaseUrl.startsWith("postgres") ? "PostgreSQL" : "the database";
    return `cannot reach ${database} at ${target} (${code}) (DATABASE_URL)`;
  }
  return undefined;
}

