// Log redaction. Real requests carrying every kind of credential (Authorization, cookies,
// client_secret, password, refresh_token, client_assertion, code, code_verifier, tokens, a page
// form's csrf_token) are logged
// at every level that logs requests: debug and trace log each request with its headers, trace also
// each request's body, and the error logs carry the failing request. The credentials reach those
// log lines and must come out "[redacted]": without the redaction in src/http/logger.ts these fail.
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import t from "tap";
import type { Test } from "tap";
import { basic, buildTestApp, form, type TestApp } from "../helpers/app.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_BODY = { "content-type": "application/json" };
const REDACTED = "[redacted]";

type Line = {
  level: number;
  msg?: string;
  req?: { url?: string; headers?: Record<string, string>; body?: Record<string, unknown> };
  body?: Record<string, unknown>;
  res?: { statusCode?: number };
};

/**
 * Sends one real request per kind of credential and returns every credential sent or received
 * (none may appear in the logs), with the statuses the requests answered.
 */
async function sendCredentials(t: Test, { app, createClient, config, clock }: TestApp) {
  const secrets: Record<string, string> = {};
  const statuses: Record<string, number> = {};
  const service = await createClient();
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  const password = "correct horse battery staple";
  await app.services.users.create("alice", password);
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const keyed = await createClient({ jwks: { keys: [jwk] } });

  secrets["client secret"] = service.clientSecret;
  secrets["Authorization header"] = basic(service.clientId, service.clientSecret);
  secrets["base64 credentials"] = Buffer.from(`${service.clientId}:${service.clientSecret}`).toString("base64");
  secrets["web client secret"] = web.clientSecret;
  secrets.password = password;

  const post = (url: string, payload: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({ method: "POST", url, headers: { ...FORM, ...headers }, payload: form(payload) });

  const viaBasic = await post("/token", { grant_type: "client_credentials" }, { authorization: secrets["Authorization header"]! });
  statuses["client_credentials (Basic)"] = viaBasic.statusCode;
  secrets["access token (Basic)"] = viaBasic.json().access_token;

  const viaPost = await post("/token", { grant_type: "client_credentials", client_id: service.clientId, client_secret: service.clientSecret });
  statuses["client_credentials (client_secret)"] = viaPost.statusCode;
  secrets["access token (client_secret)"] = viaPost.json().access_token;

  const now = Math.floor(clock.now() / 1000);
  const assertion = await new SignJWT({ iss: keyed.clientId, sub: keyed.clientId, aud: `${config.issuer}/token`, jti: randomUUID(), iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .sign(privateKey);
  secrets["client assertion"] = assertion;
  const viaAssertion = await post("/token", {
    grant_type: "client_credentials",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: assertion,
  });
  statuses["client_credentials (client_assertion)"] = viaAssertion.statusCode;
  secrets["access token (client_assertion)"] = viaAssertion.json().access_token;

  const signIn = await post("/token", { grant_type: "password", username: "alice", password, client_id: web.clientId, client_secret: web.clientSecret });
  statuses["password grant"] = signIn.statusCode;
  secrets["refresh token (password grant)"] = signIn.json().refresh_token;

  const refreshed = await post("/token", {
    grant_type: "refresh_token",
    refresh_token: signIn.json().refresh_token,
    client_id: web.clientId,
    client_secret: web.clientSecret,
  });
  statuses["refresh_token grant"] = refreshed.statusCode;
  secrets["refresh token (refresh_token grant)"] = refreshed.json().refresh_token;
  secrets["access token (refresh_token grant)"] = refreshed.json().access_token;

  // No authorization code grant yet: the request still carries a code and its PKCE verifier.
  secrets.code = "SplxlOBeZQQYbYS6WxSbIA";
  secrets["code verifier"] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const codeGrant = await post(
    "/token",
    { grant_type: "authorization_code", code: secrets.code, code_verifier: secrets["code verifier"], redirect_uri: "https://app.example.test/cb" },
    { authorization: secrets["Authorization header"]! },
  );
  statuses["authorization_code grant"] = codeGrant.statusCode;

  const login = await app.inject({
    method: "POST",
    url: "/login",
    headers: JSON_BODY,
    payload: JSON.stringify({ username: "alice", password, client_id: web.clientId }),
  });
  statuses["/login"] = login.statusCode;
  secrets["refresh token (/login)"] = login.json().refresh_token;
  secrets["access token (/login)"] = login.json().access_token;

  const cookie = `refresh_token=${login.json().refresh_token}`;
  secrets["cookie header"] = cookie;
  const viaCookie = await app.inject({ method: "POST", url: "/refresh", headers: { cookie } });
  statuses["/refresh (cookie)"] = viaCookie.statusCode;
  secrets["refresh token (/refresh)"] = viaCookie.json().refresh_token;

  const introspected = await post("/introspect", { token: secrets["access token (Basic)"]! }, { authorization: secrets["Authorization header"]! });
  statuses["/introspect"] = introspected.statusCode;
  const revoked = await post("/revoke", { token: secrets["refresh token (/refresh)"]!, client_id: web.clientId, client_secret: web.clientSecret });
  statuses["/revoke"] = revoked.statusCode;

  // A sign-in or consent form's CSRF token (the interaction is unknown here: the form is refused).
  secrets["CSRF token"] = "pNbkGxg1RO0hjBmZqT0t2Q-csrf";
  const pageForm = await post("/authorize", { interaction: "unknown-interaction", csrf_token: secrets["CSRF token"] });
  statuses["/authorize form"] = pageForm.statusCode;

  // A token in a query string: only the path is logged.
  const withQuery = await app.inject({ method: "GET", url: `/healthz?access_token=${secrets["access token (Basic)"]}` });
  statuses["query string"] = withQuery.statusCode;

  t.same(
    statuses,
    {
      "client_credentials (Basic)": 200,
      "client_credentials (client_secret)": 200,
      "client_credentials (client_assertion)": 200,
      "password grant": 200,
      "refresh_token grant": 200,
      "authorization_code grant": 400,
      "/login": 200,
      "/refresh (cookie)": 200,
      "/introspect": 200,
      "/revoke": 200,
      "/authorize form": 400,
      "query string": 200,
    },
    "every request was answered as expected",
  );
  return secrets;
}

function noSecretIn(t: Test, logs: string[], secrets: Record<string, string>) {
  const all = logs.join("");
  for (const [what, value] of Object.entries(secrets)) {
    t.ok(value.length >= 16, `${what} is a real value`);
    t.notOk(all.includes(value), `no ${what} in the logs`);
  }
}

for (const level of ["debug", "trace"] as const) {
  t.test(`LOG_LEVEL=${level}: request logs carry headers and bodies, never a credential`, async (t) => {
    const test = await buildTestApp(t, { LOG_LEVEL: level });
    const secrets = await sendCredentials(t, test);
    const lines = test.logs.map((l) => JSON.parse(l) as Line);

    const incoming = lines.filter((l) => l.msg === "incoming request");
    t.same(
      incoming.map((l) => l.req?.url),
      ["/token", "/token", "/token", "/token", "/token", "/token", "/login", "/refresh", "/introspect", "/revoke", "/authorize", "/healthz"],
      "every request was logged, by its path only",
    );
    t.equal(lines.filter((l) => l.msg === "request completed").length, 12);
    const headers = incoming.map((l) => l.req?.headers ?? {});
    t.same(
      headers.map((h) => h.authorization),
      [REDACTED, undefined, undefined, undefined, undefined, REDACTED, undefined, undefined, REDACTED, undefined, undefined, undefined],
      "the Authorization header is logged as [redacted]",
    );
    t.equal(headers[7]!.cookie, REDACTED, "the Cookie header is logged as [redacted]");
    t.equal(headers[6]!["content-type"], "application/json", "other headers are logged as they came");

    const bodies = lines.filter((l) => l.msg === "request body").map((l) => l.body ?? {});
    if (level === "debug") {
      t.same(bodies, [], "bodies are logged at trace only");
    } else {
      t.equal(bodies.length, 10, "one body line per request with a body");
      t.match(bodies[1], { grant_type: "client_credentials", client_id: String, client_secret: REDACTED });
      t.match(bodies[2], { grant_type: "client_credentials", client_assertion_type: String, client_assertion: REDACTED });
      t.match(bodies[3], { grant_type: "password", username: "alice", password: REDACTED, client_secret: REDACTED });
      t.match(bodies[4], { grant_type: "refresh_token", refresh_token: REDACTED, client_secret: REDACTED });
      t.match(bodies[5], { grant_type: "authorization_code", code: REDACTED, code_verifier: REDACTED, redirect_uri: "https://app.example.test/cb" });
      t.match(bodies[6], { username: "alice", password: REDACTED });
      t.match(bodies[7], { token: REDACTED });
      t.match(bodies[8], { token: REDACTED, client_secret: REDACTED });
      t.match(bodies[9], { interaction: "unknown-interaction", csrf_token: REDACTED });
    }
    noSecretIn(t, test.logs, secrets);
  });
}

t.test("the error logs carry the failing request, never its credentials", async (t) => {
  // The database goes away under a refresh (SQLite: another connection holds the write lock;
  // PostgreSQL: the link is cut), so the request is logged at warn or error, at the default level.
  const direct = await freshDatabaseUrl(t);
  let url = direct;
  let fail: () => void;
  let restore: () => void;
  if (TEST_PROVIDER === "sqlite") {
    const other = new Database(direct.slice("file:".length));
    t.teardown(() => other.close());
    fail = () => other.exec("BEGIN EXCLUSIVE");
    restore = () => other.exec("ROLLBACK");
  } else {
    const target = new URL(direct);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    t.teardown(() => proxy.close());
    target.port = String(proxy.port);
    url = target.toString();
    fail = () => proxy.cut();
    restore = () => proxy.restore();
  }
  const { app, logs, createClient } = await buildTestApp(t, { DATABASE_URL: url });
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await app.services.users.create("alice", "alice-password-1");
  const authorization = basic(web.clientId, web.clientSecret);
  const signIn = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization },
    payload: form({ grant_type: "password", username: "alice", password: "alice-password-1" }),
  });
  t.equal(signIn.statusCode, 200);
  const refreshToken = signIn.json().refresh_token as string;

  fail();
  const failed = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization, cookie: `refresh_token=${refreshToken}` },
    payload: form({ grant_type: "refresh_token", refresh_token: refreshToken }),
  });
  restore();
  t.equal(failed.statusCode, 503, "the refresh failed on the database: temporarily_unavailable");

  const errors = logs.map((l) => JSON.parse(l) as Line).filter((l) => l.level >= 40 && l.req !== undefined);
  t.equal(errors.length, 1, "one warn or error line carries the request");
  const req = errors[0]?.req ?? {};
  t.equal(req.url, "/token");
  t.equal(req.headers?.authorization, REDACTED);
  t.equal(req.headers?.cookie, REDACTED);
  t.same(req.body, { grant_type: "refresh_token", refresh_token: REDACTED });
  noSecretIn(t, logs, {
    "Authorization header": authorization,
    "client secret": web.clientSecret,
    "base64 credentials": Buffer.from(`${web.clientId}:${web.clientSecret}`).toString("base64"),
    "refresh token": refreshToken,
  });
});
