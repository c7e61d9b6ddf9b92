// Log redaction: with per-request logging on (LOG_LEVEL=debug), no credential reaches a log line.
import t from "tap";
import { basic, buildTestApp, form } from "../helpers/app.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

t.test("request logs carry no client secret, access token or Authorization header", async (t) => {
  const { app, logs, createClient } = await buildTestApp(t, { LOG_LEVEL: "debug" });
  const { clientId, clientSecret } = await createClient();
  const authorization = basic(clientId, clientSecret);
  const secrets: Record<string, string> = { "client secret": clientSecret, "Authorization header": authorization };

  const viaBasic = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization },
    payload: form({ grant_type: "client_credentials" }),
  });
  t.equal(viaBasic.statusCode, 200);
  secrets["access token (basic)"] = viaBasic.json().access_token;

  const viaPost = await app.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
  });
  t.equal(viaPost.statusCode, 200);
  secrets["access token (post)"] = viaPost.json().access_token;

  const wrongSecret = `${clientSecret.slice(0, -4)}AAAA`;
  secrets["wrong secret"] = wrongSecret;
  secrets["wrong Authorization header"] = basic(clientId, wrongSecret);
  const failedBasic = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(clientId, wrongSecret) },
    payload: form({ grant_type: "client_credentials" }),
  });
  t.equal(failedBasic.statusCode, 401);

  const failedPost = await app.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({ grant_type: "client_credentials", client_id: clientId, client_secret: wrongSecret, scope: "nope" }),
  });
  t.equal(failedPost.statusCode, 401);

  // A malformed request that fails validation with the secret in the body.
  const invalid = await app.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({ grant_type: ["client_credentials", "client_credentials"], client_id: clientId, client_secret: clientSecret }),
  });
  t.equal(invalid.statusCode, 400);

  // A token in a query string: only the path is logged.
  const queryToken = secrets["access token (basic)"]!;
  const withQuery = await app.inject({ method: "GET", url: `/healthz?access_token=${queryToken}` });
  t.equal(withQuery.statusCode, 200);

  const lines = logs.map((l) => JSON.parse(l) as { msg?: string; req?: { url?: string }; res?: { statusCode?: number } });
  const completed = lines.filter((l) => l.msg === "request completed");
  t.equal(completed.length, 6, "one 'request completed' line per request: logs were written");
  t.ok(lines.some((l) => l.msg === "incoming request" && l.req?.url === "/token"), "incoming requests are logged with their path");
  t.ok(lines.some((l) => l.msg === "incoming request" && l.req?.url === "/healthz"), "the query string is cut off");
  t.same(completed.map((l) => l.res?.statusCode), [200, 200, 401, 401, 400, 200]);

  const all = logs.join("");
  for (const [what, value] of Object.entries(secrets)) {
    t.notOk(all.includes(value), `no ${what} in the logs`);
  }
  const encodedSecret = Buffer.from(`${clientId}:${clientSecret}`).toString("base64");
  t.notOk(all.includes(encodedSecret), "no base64 credentials in the logs");
});

t.test("first-party flow logs carry no password, refresh token or cookie", async (t) => {
  const { app, logs, createClient } = await buildTestApp(t, { LOG_LEVEL: "debug" });
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  const password = "correct horse battery staple";
  await app.services.users.create("alice", password);
  const secrets: Record<string, string> = { password };
  const JSON_BODY = { "content-type": "application/json" };

  const login = await app.inject({
    method: "POST",
    url: "/login",
    headers: JSON_BODY,
    payload: JSON.stringify({ username: "alice", password, client_id: web.clientId }),
  });
  t.equal(login.statusCode, 200);
  secrets["access token (login)"] = login.json().access_token;
  secrets["refresh token (login)"] = login.json().refresh_token;
  const cookie = `refresh_token=${login.json().refresh_token}`;
  secrets["cookie header"] = cookie;

  const wrongPassword = "not the right password";
  secrets["wrong password"] = wrongPassword;
  const failedLogin = await app.inject({
    method: "POST",
    url: "/login",
    headers: JSON_BODY,
    payload: JSON.stringify({ username: "alice", password: wrongPassword, client_id: web.clientId }),
  });
  t.equal(failedLogin.statusCode, 400);

  const refreshed = await app.inject({ method: "POST", url: "/refresh", headers: { cookie } });
  t.equal(refreshed.statusCode, 200);
  secrets["access token (refresh)"] = refreshed.json().access_token;
  secrets["refresh token (refresh)"] = refreshed.json().refresh_token;

  const reused = await app.inject({ method: "POST", url: "/refresh", headers: JSON_BODY, payload: JSON.stringify({ refresh_token: login.json().refresh_token }) });
  t.equal(reused.statusCode, 400, "a rotated token presented again fails");

  const api = await createClient();
  secrets["client secret"] = api.clientSecret;
  const introspected = await app.inject({
    method: "POST",
    url: "/introspect",
    headers: FORM,
    payload: form({ token: refreshed.json().access_token, client_id: api.clientId, client_secret: api.clientSecret }),
  });
  t.equal(introspected.statusCode, 200);
  const revoked = await app.inject({
    method: "POST",
    url: "/revoke",
    headers: { ...FORM, authorization: basic(api.clientId, api.clientSecret) },
    payload: form({ token: refreshed.json().refresh_token }),
  });
  t.equal(revoked.statusCode, 200);

  const lines = logs.map((l) => JSON.parse(l) as { msg?: string; req?: { url?: string } });
  const urls = lines.filter((l) => l.msg === "incoming request").map((l) => l.req?.url);
  t.same(urls, ["/login", "/login", "/refresh", "/refresh", "/introspect", "/revoke"], "every request was logged");
  t.equal(lines.filter((l) => l.msg === "request completed").length, 6);

  const all = logs.join("");
  for (const [what, value] of Object.entries(secrets)) {
    t.ok(value.length >= 8, `${what} is a real value`);
    t.notOk(all.includes(value), `no ${what} in the logs`);
  }
});
