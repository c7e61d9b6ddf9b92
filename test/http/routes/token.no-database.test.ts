// The client-credentials hot path never touches the database per token: clients and keys are served
// from memory, and Token Status List entries come from blocks of BLOCK_SIZE reserved with one query
// each (status-index-allocator.ts). Queries are counted through LOG_LEVEL=trace, which logs each one
// ("database query").
import t from "tap";
import { BLOCK_SIZE } from "../../../src/domain/tokens/status-index-allocator.js";
import { basic, buildTestApp, COUNT_QUERIES, form, queryLogs } from "../../helpers/app.js";
import { FORM } from "../../helpers/oauth.js";

const BURST = 200;
const RESERVATION = /^\s*INSERT INTO "StatusListBlock"/;

const { app, logs, createClient } = await buildTestApp(t, COUNT_QUERIES);
const queries = () => queryLogs(logs).length;

const client = await createClient({ audiences: ["https://api.example.test", "https://other.example.test"] });
const auth = basic(client.clientId, client.clientSecret);
const token = (payload: Record<string, string>, authorization = auth) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization }, payload: form(payload) });

t.test("the query log counts queries", async (t) => {
  const before = queries();
  t.equal((await app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
  t.ok(queries() > before, "/readyz asks the database, and that is counted");
  t.match(queryLogs(logs).at(-1), { sql: /SELECT 1/i, durationMs: Number }, "SQL text and duration");
});

t.test(`${BURST} client-credentials requests, ${BURST / 20} bursts of 20 at once, make one query: the client's first block`, async (t) => {
  const before = queries();
  const statuses: number[] = [];
  for (let burst = 0; burst < BURST / 20; burst++) {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        token({ grant_type: "client_credentials", scope: i % 2 ? "read" : "read write", resource: i % 3 ? "https://api.example.test" : "https://other.example.test" }),
      ),
    );
    statuses.push(...answers.map((res) => res.statusCode));
  }
  t.same(new Set(statuses), new Set([200]), "every request got a token");
  const made = queryLogs(logs).slice(before);
  t.equal(made.length, 1, "one query");
  t.match(made[0]!.sql, RESERVATION, "the block's reservation");
});

const LONG_BURST = 2 * BLOCK_SIZE + 100;

t.test(`${LONG_BURST} more, 50 at once, make one query per block they begin`, async (t) => {
  const before = queries();
  const idx = new Set<number>();
  const statuses = new Set<number>();
  for (let sent = 0; sent < LONG_BURST; sent += 50) {
    const answers = await Promise.all(Array.from({ length: Math.min(50, LONG_BURST - sent) }, () => token({ grant_type: "client_credentials" })));
    for (const res of answers) {
      statuses.add(res.statusCode);
      const claims = JSON.parse(Buffer.from(res.json().access_token.split(".")[1], "base64url").toString());
      idx.add(claims.status.status_list.idx);
    }
  }
  t.same(statuses, new Set([200]), "every request got a token");
  t.equal(idx.size, LONG_BURST, "no index given twice");
  // BURST entries of the first block went to the test before: the rest begin this many new blocks.
  const blocks = Math.ceil((BURST + LONG_BURST) / BLOCK_SIZE) - 1;
  const made = queryLogs(logs).slice(before);
  t.equal(made.length, blocks, `${blocks} queries`);
  t.ok(made.every((q) => RESERVATION.test(q.sql as string)), "each a block's reservation");
});

t.test("with STATUS_LIST=off, no query at all", async (t) => {
  const off = await buildTestApp(t, { ...COUNT_QUERIES, STATUS_LIST: "off" });
  const c = await off.createClient();
  const before = queryLogs(off.logs).length;
  const answers = await Promise.all(
    Array.from({ length: 50 }, () =>
      off.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(c.clientId, c.clientSecret) }, payload: form({ grant_type: "client_credentials" }) }),
    ),
  );
  t.same(new Set(answers.map((res) => res.statusCode)), new Set([200]));
  t.equal(queryLogs(off.logs).length, before, "no query");
});

t.test("refusals make no query either: wrong secret, unknown client, bad scope, bad audience", async (t) => {
  const before = queries();
  t.equal((await token({ grant_type: "client_credentials" }, basic(client.clientId, "wrong"))).statusCode, 401);
  t.equal((await token({ grant_type: "client_credentials" }, basic("no-such-client", "x"))).statusCode, 401);
  t.equal((await token({ grant_type: "client_credentials", scope: "admin" })).statusCode, 400);
  t.equal((await token({ grant_type: "client_credentials", resource: "https://elsewhere.test" })).statusCode, 400);
  t.equal(queries(), before, "no query");
});
