// Where a DATABASE_URL points, fit to print: the absolute file of SQLite, or PostgreSQL's host and
// database without user or password.
import path from "node:path";
import { providerOf } from "./prisma.js";

/** The SQLite file a `file:` URL names, resolved against the current directory as the driver does. */
export const sqliteFile = (url: string): string => path.resolve(url.replace(/^file:/, "").replace(/\?.*$/, ""));

export function databaseLocation(url: string): string {
  if (providerOf(url) === "sqlite") return `SQLite ${sqliteFile(url)}`;
  try {
    const { hostname, port, pathname } = new URL(url);
    return `PostgreSQL ${hostname}:${port || "5432"}/${decodeURIComponent(pathname.slice(1))}`;
  } catch {
    return "PostgreSQL (DATABASE_URL)";
  }
}
