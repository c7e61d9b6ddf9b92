// The client-credentials hot path never touches the database: clients and keys are served from
// memory. Queries are counted through LOG_LEVEL=trace, which logs each one ("database query").
import t from "tap";
import { basic, buildTestApp, COUNT_QUERIES, form, queryLogs } from "../../helpers/app.js";
import { FORM } from "../../helpers/oauth.js";

const BURST = 200;

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

t.test(`${BURST} client-credentials requests, ${BURST / 20} bursts of 20 at once, make no query`, async (t) => {
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
  t.equal(queries(), before, "no query");
});

t.test("refusals make no query either: wrong secret, unknown client, bad scope, bad audience", async (t) => {
  const before = queries();
  t.equal((await token({ grant_type: "client_credentials" }, basic(client.clientId, "wrong"))).statusCode, 401);
  t.equal((await token({ grant_type: "client_credentials" }, basic("no-such-client", "x"))).statusCode, 401);
  t.equal((await token({ grant_type: "client_credentials", scope: "admin" })).statusCode, 400);
  t.equal((await token({ grant_type: "client_credentials", resource: "https://elsewhere.test" })).statusCode, 400);
  t.equal(queries(), before, "no query");
});
