// What a refresh-token rotation costs the database, counted through LOG_LEVEL=trace (one "database
// query" line per statement): one read of the token with its family and its user's flag, then the
// conditional consume and the successor's insert, which PostgreSQL does in one statement.
import t from "tap";
import { basic, buildTestApp, COUNT_QUERIES, form, queryLogs } from "../../helpers/app.js";
import { TEST_PROVIDER } from "../../helpers/database.js";
import { FORM } from "../../helpers/oauth.js";

const { app, logs, createClient } = await buildTestApp(t, COUNT_QUERIES);
const queries = () => queryLogs(logs).length;

const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
await app.services.users.create("alice", "alice-password-1");
const token = (payload: Record<string, string>) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) }, payload: form(payload) });
const signIn = async (): Promise<string> =>
  (await token({ grant_type: "password", username: "alice", password: "alice-password-1" })).json().refresh_token;

const PER_ROTATION = TEST_PROVIDER === "postgresql" ? 2 : 3;

t.test(`a rotation makes ${PER_ROTATION} queries on ${TEST_PROVIDER}`, async (t) => {
  const refresh = await signIn();
  const before = queries();
  const res = await token({ grant_type: "refresh_token", refresh_token: refresh });
  t.equal(res.statusCode, 200);
  t.equal(queries() - before, PER_ROTATION);
});

t.test("twenty chains rotating at once: the same per rotation", async (t) => {
  const chains = await Promise.all(Array.from({ length: 20 }, signIn));
  const before = queries();
  const answers = await Promise.all(chains.map((refresh) => token({ grant_type: "refresh_token", refresh_token: refresh })));
  t.same(new Set(answers.map((res) => res.statusCode)), new Set([200]));
  t.equal(queries() - before, 20 * PER_ROTATION);
});

t.test("an unknown token costs one read; a malformed one none", async (t) => {
  const before = queries();
  t.equal((await token({ grant_type: "refresh_token", refresh_token: "A".repeat(43) })).statusCode, 400);
  t.equal(queries() - before, 1);
  t.equal((await token({ grant_type: "refresh_token", refresh_token: "not-a-token" })).statusCode, 400);
  t.equal(queries() - before, 1);
});
