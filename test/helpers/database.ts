// A fresh, empty database per test file: a temp SQLite file by default, or, when DATABASE_URL is a
// postgresql:// URL, a new database on that server named after it, dropped in teardown.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";

type Teardown = { teardown(fn: () => unknown): void };

export const TEST_PROVIDER: "sqlite" | "postgresql" = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? "")
  ? "postgresql"
  : "sqlite";

export async function freshDatabaseUrl(t: Teardown): Promise<string> {
  if (TEST_PROVIDER === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-test-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    return `file:${path.join(dir, "tessera.db")}`;
  }
  const base = new URL(process.env.DATABASE_URL!);
  const name = `${base.pathname.slice(1) || "tessera"}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  t.teardown(async () => {
    const drop = new pg.Client({ connectionString: base.toString() });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await drop.end();
  });
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}
