// Refresh races with real server processes on one database (issue 17, defects 3 and 4).
//
// Twenty refreshes with one token, split over two instances (both providers): exactly one wins and
// its tokens stay valid, since a loser that reads after the winner's commit is a concurrent request,
// not a replay.
//
// A family revocation racing a rotation (PostgreSQL). The rotation's statement used to read the family with its own snapshot: a
// rotation that had read the family as alive committed its successor after the revocation had listed
// the family's access tokens, and that successor's access token was never blocklisted.
//
// The race is lined up, not hoped for: the test holds a row lock on the refresh token (as another
// database session would), so that the rotation on instance A stops just before it writes; then
// instance B revokes the family at /revoke; only once B's revocation has answered, or is itself
// waiting on a lock, is the token's lock released. Whatever the order the database then picks, no
// access token of the family may remain active.
//
// Waiting here is bounded polling for the processes' state in pg_stat_activity; nothing asserts on speed.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import t from "tap";
import { deriveKey, loadKek } from "../../src/crypto/kek.js";
import { keyedDigest } from "../../src/crypto/secrets.js";
import { systemClock } from "../../src/domain/clock.js";
import { ClientService } from "../../src/domain/clients/client-service.js";
import { UserService } from "../../src/domain/users/user-service.js";
import { AuditRepository } from "../../src/storage/audit.js";
import { BrowserSessionRepository } from "../../src/storage/browser-sessions.js";
import { ClientRepository } from "../../src/storage/clients.js";
import { StatusListRepository } from "../../src/storage/status-lists.js";
import { openDb } from "../../src/storage/prisma.js";
import { RefreshTokenRepository } from "../../src/storage/refresh-tokens.js";
import { UserRepository } from "../../src/storage/users.js";
import { basic, form } from "../helpers/app.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";
import { eventually, startServer, type ServerProcess } from "../helpers/server-process.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const WAIT_MS = 30_000; // generous: two processes and the test share a busy machine

t.setTimeout(600_000);
const databaseUrl = await freshDatabaseUrl(t);
const kek = randomBytes(32).toString("base64");
const shared = {
  DATABASE_URL: databaseUrl,
  TESSERA_KEK: kek,
  TESSERA_ISSUER: "http://tessera.test",
  CACHE_REFRESH: "1",
  RATE_LIMIT_TOKEN: "0",
  RATE_LIMIT_REVOKE: "0",
  RATE_LIMIT_INTROSPECT: "0",
};
const a = await startServer(t, shared);
const b = await startServer(t, shared, undefined, "tessera serve"); // the CLI's way to start the same server

const db = await openDb(databaseUrl);
t.teardown(() => db.$disconnect());
const audit = new AuditRepository(db);
const clients = new ClientService({ repo: new ClientRepository(db), statusBlocks: new StatusListRepository(db), audit, clock: systemClock });
const users = new UserService({ repo: new UserRepository(db), audit, clock: systemClock, sessions: new RefreshTokenRepository(db), browserSessions: new BrowserSessionRepository(db) });
const { client, clientSecret } = await clients.create(
  { name: "web", firstParty: true, grantTypes: ["password", "refresh_token"], scopes: ["read"], audiences: ["https://api.example.test"] },
  "test",
);
const web = { id: client.id, secret: clientSecret! };
await users.create("alice", "alice-password-1", "test");
const digestKey = deriveKey(loadKek(kek, path.join(os.tmpdir(), "tessera-unused-kek")), "refresh token digest");

const post = (server: ServerProcess, endpoint: string, params: Record<string, string>) =>
  fetch(`${server.url}${endpoint}`, { method: "POST", headers: { ...FORM, authorization: basic(web.id, web.secret) }, body: form(params) });
const active = async (server: ServerProcess, token: string) => ((await (await post(server, "/introspect", { token })).json()) as { active: boolean }).active;

// Both instances know the client once its password grant works there.
let session: { access_token: string; refresh_token: string } | undefined;
for (const server of [b, a]) {
  session = await eventually(async () => {
    const res = await post(server, "/token", { grant_type: "password", username: "alice", password: "alice-password-1" });
    return res.status === 200 ? ((await res.json()) as { access_token: string; refresh_token: string }) : undefined;
  }, WAIT_MS);
  if (!session) throw new Error(`${server.url} did not load the client:\n${server.output()}`);
}

t.test("twenty concurrent refreshes with one token, split over two instances: one wins, and its tokens stay valid", async (t) => {
  const res = await post(a, "/token", { grant_type: "password", username: "alice", password: "alice-password-1" });
  const { refresh_token: presented } = (await res.json()) as { refresh_token: string };
  const answers = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const answer = await post(i % 2 === 0 ? a : b, "/token", { grant_type: "refresh_token", refresh_token: presented });
      return { status: answer.status, body: (await answer.json()) as { error?: string; access_token?: string; refresh_token?: string } };
    }),
  );
  const won = answers.filter((x) => x.status === 200);
  t.equal(won.length, 1, "exactly one 200");
  t.same(
    answers.filter((x) => x.status !== 200).map((x) => [x.status, x.body.error]),
    Array.from({ length: 19 }, () => [400, "invalid_grant"]),
    "nineteen 400 invalid_grant",
  );
  const winner = won[0]!.body;
  for (const server of [a, b]) t.equal(await active(server, winner.access_token!), true, `the winner's access token is active at ${server === a ? "A" : "B"}`);
  const next = await post(b, "/token", { grant_type: "refresh_token", refresh_token: winner.refresh_token! });
  t.equal(next.status, 200, "the winner's refresh token rotates");
});

if (TEST_PROVIDER !== "postgresql") {
  // SQLite runs one writer at a time (the rotation is BEGIN IMMEDIATE): no snapshot to race.
  t.comment("the revocation racing a rotation is PostgreSQL only: it runs in the PostgreSQL pass of the suite");
} else {
  const holder = new pg.Client({ connectionString: databaseUrl });
  await holder.connect();
  t.teardown(() => holder.end());
  /** Sessions of this database (other than the holder's) waiting for a lock. */
  const waitingOnLocks = async () =>
    Number(
      (
        await holder.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        )
      ).rows[0].n,
    );

  t.test("a revocation at B while a rotation at A is about to write: no access token of the family survives", async (t) => {
    const { refresh_token: presented, access_token: first } = session!;
    await holder.query("BEGIN");
    const locked = await holder.query(`SELECT 1 FROM "RefreshToken" WHERE "digest" = $1 FOR UPDATE`, [keyedDigest(digestKey, presented)]);
    t.equal(locked.rowCount, 1, "the test holds the token's row");

    const rotation = post(a, "/token", { grant_type: "refresh_token", refresh_token: presented });
    t.ok(await eventually(async () => ((await waitingOnLocks()) >= 1 ? true : undefined), WAIT_MS, 20), "A's rotation waits for the token's row");

    let revocationAnswered = false;
    const revocation = post(b, "/revoke", { token: presented }).then((res) => ((revocationAnswered = true), res));
    // Before the fix B's revocation runs to its end here; after it, B waits for A's lock on the family.
    const settled = await eventually(async () => (revocationAnswered ? "answered" : (await waitingOnLocks()) >= 2 ? "waiting" : undefined), WAIT_MS, 20);
    t.equal(settled, "waiting", "B's revocation waits for the rotation that holds the family");
    await holder.query("COMMIT");

    const [rotated, revoked] = await Promise.all([rotation, revocation]);
    t.equal(revoked.status, 200, "/revoke answers 200");
    t.equal(rotated.status, 200, "the rotation, first to hold the family, completes");
    const pair = (await rotated.json()) as { access_token: string; refresh_token: string };
    for (const server of [a, b]) {
      t.equal(await active(server, first), false, `the first access token is inactive at ${server === a ? "A" : "B"}`);
      t.equal(await active(server, pair.access_token), false, `the rotation's access token is inactive at ${server === a ? "A" : "B"}`);
      t.equal(await active(server, pair.refresh_token), false, `the rotation's refresh token is inactive at ${server === a ? "A" : "B"}`);
    }
    const again = await post(b, "/token", { grant_type: "refresh_token", refresh_token: pair.refresh_token });
    t.same(await again.json(), { error: "invalid_grant", error_description: "refresh token expired or revoked" });
  });
}

