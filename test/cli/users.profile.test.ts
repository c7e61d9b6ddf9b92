// `tessera users create --name --email --email-verified` and `tessera users update`, run as real
// processes on a fresh database; the profile is checked in the stored row and as printed.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { buildTestApp } from "../helpers/app.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { SettableClock } from "../helpers/clock.js";
import { freshDatabaseUrl } from "../helpers/database.js";

t.setTimeout(300_000); // real processes, each starting tsx and Prisma

const url = await freshDatabaseUrl(t);
const { app } = await buildTestApp(t, { DATABASE_URL: url }, new SettableClock(Date.now()));

function users(args: string[], stdin = ""): Promise<CliRun> {
  const { NODE_OPTIONS: _instrumentation, ...env } = process.env;
  return runCli(["users", ...args], {
    env: { ...env, DATABASE_URL: url, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek") },
    stdin,
  });
}

const stored = (username: string) => app.services.db.user.findUnique({ where: { username } });

t.test("create --name --email --email-verified, then update changes and clears them", async (t) => {
  let run = await users(["create", "--username", "grace", "--password-stdin", "--name", "Grace Hopper", "--email", "grace@example.test", "--email-verified", "--json"], "grace-password-1\n");
  t.equal(run.code, 0, run.stderr);
  const created = JSON.parse(run.stdout) as Record<string, unknown>;
  t.same(created, { id: created.id, username: "grace", enabled: true, name: "Grace Hopper", email: "grace@example.test", email_verified: true });
  t.match(await stored("grace"), { name: "Grace Hopper", email: "grace@example.test", emailVerified: true });

  run = await users(["update", "--username", "grace", "--email", "grace@navy.example.test", "--name", "", "--json"]);
  t.equal(run.code, 0, run.stderr);
  t.same(JSON.parse(run.stdout), { id: created.id, username: "grace", enabled: true, email: "grace@navy.example.test", email_verified: false }, "a new email is unverified; the name is cleared");
  t.match(await stored("grace"), { name: null, email: "grace@navy.example.test", emailVerified: false });

  run = await users(["update", "--username", "grace", "--email", "not an address"]);
  t.equal(run.code, 1, "fails");
  t.match(run.stderr, /email: an email address/);
  t.match(await stored("grace"), { email: "grace@navy.example.test" }, "nothing written");
});
