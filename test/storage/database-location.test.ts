// How the CLI and the server name the database they opened: the SQLite file's absolute path, or
// PostgreSQL's host, port and database name, never the user or password of DATABASE_URL.
import path from "node:path";
import t from "tap";
import { databaseLocation } from "../../src/storage/database-location.js";

t.test("SQLite: the file's absolute path, without the URL's parameters", async (t) => {
  t.equal(databaseLocation("file:./data/tessera.db?connection_limit=1"), `SQLite ${path.resolve("data/tessera.db")}`);
});

t.test("PostgreSQL: host, port (5432 when unsaid) and the decoded database name; no credentials", async (t) => {
  t.equal(databaseLocation("postgresql://app:s3cret@db.internal:6432/tessera"), "PostgreSQL db.internal:6432/tessera");
  t.equal(databaseLocation("postgres://app:s3cret@db.internal/my%20db"), "PostgreSQL db.internal:5432/my db");
});

t.test("PostgreSQL with a URL that does not parse: named by its setting, echoing nothing of it", async (t) => {
  t.equal(databaseLocation("postgresql://app:s3cret@[not-a-host/tessera"), "PostgreSQL (DATABASE_URL)");
});
