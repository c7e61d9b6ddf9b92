// The CLI's DPoP and PAR settings of a client, as real processes on a real database:
// `clients create|update --dpop-bound/--no-dpop-bound --require-par/--no-require-par` (RFC 9449 §5.2
// dpop_bound_access_tokens, RFC 9126 §6 require_pushed_authorization_requests), checked through an
// app on the same database. Its own file: each process starts tsx and Prisma, and code-flow.test.ts
// is near its time limit already.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { buildTestApp } from "../helpers/app.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { freshDatabaseUrl } from "../helpers/database.js";

const API = "https://api.example.test";

t.setTimeout(300_000);

const url = await freshDatabaseUrl(t);
const { app } = await buildTestApp(t, { DATABASE_URL: url });

function tessera(...args: string[]): Promise<CliRun> {
  const { NODE_OPTIONS: _instrumentation, ...env } = process.env;
  return runCli(args, {
    env: { ...env, DATABASE_URL: url, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek") },
  });
}

/** stderr without the line saying which database was opened (cli/db.ts). */
const errors = (run: CliRun) => run.stderr.replace(/^tessera: database .*\n/, "");

t.test("clients create|update --dpop-bound/--no-dpop-bound and --require-par/--no-require-par", async (t) => {
  const created = await tessera("clients", "create", "--name", "Bound", "--audience", API, "--grant", "client_credentials", "--dpop-bound", "--require-par", "--json");
  t.equal(created.code, 0, created.stderr);
  const client = JSON.parse(created.stdout);
  t.match(client, { dpop_bound_access_tokens: true, require_pushed_authorization_requests: true });
  const [off, both, help] = await Promise.all([
    tessera("clients", "update", client.client_id, "--no-dpop-bound", "--json"),
    tessera("clients", "update", client.client_id, "--require-par", "--no-require-par"),
    tessera("clients", "--help"),
  ]);
  t.equal(off.code, 0, off.stderr);
  t.match(JSON.parse(off.stdout), { dpop_bound_access_tokens: false, require_pushed_authorization_requests: true });
  t.equal(both.code, 1);
  t.equal(errors(both), "tessera: use --require-par or --no-require-par, not both\n");
  t.match(help.stdout, "[--dpop-bound|--no-dpop-bound] [--require-par|--no-require-par]");
  const [parOff, dpopOn, plain] = await Promise.all([
    tessera("clients", "update", client.client_id, "--no-require-par", "--dpop-bound", "--json"),
    tessera("clients", "update", client.client_id, "--dpop-bound", "--no-dpop-bound"),
    tessera("clients", "create", "--name", "Plain", "--audience", API, "--grant", "client_credentials", "--json"),
  ]);
  t.equal(parOff.code, 0, parOff.stderr);
  t.equal(dpopOn.code, 1);
  t.equal(errors(dpopOn), "tessera: use --dpop-bound or --no-dpop-bound, not both\n");
  t.match(JSON.parse(plain.stdout), { dpop_bound_access_tokens: false, require_pushed_authorization_requests: false }, "off unless set");
  const stored = await app.services.clientAdmin.show(client.client_id);
  t.match(stored, { dpopBoundAccessTokens: true, requirePushedAuthorizationRequests: false });
});
