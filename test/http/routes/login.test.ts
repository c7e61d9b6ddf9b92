// POST /login: first-party sign-in with {username, password, client_id} as JSON, answering an access
// token, a refresh token and the refresh cookie. /refresh and /logout are in their own files.
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp } from "../../helpers/app.js";
import { setCookies } from "../../helpers/cookies.js";

const API = "https://api.example.test";
const THIRTY_DAYS = 30 * 86400;
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const { app, clock, createClient } = await buildTestApp(t);

const firstParty = (input: Parameters<typeof createClient>[0] = {}) =>
  createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], ...input });

const web = await firstParty();
const alice = await app.services.users.create("alice", "alice-password-1");

const login = (body: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url: "/login", headers: { "content-type": "application/json", ...headers }, payload: JSON.stringify(body) });
const aliceLogin = (clientId = web.clientId) => login({ username: "alice", password: "alice-password-1", client_id: clientId });

/** Asserts an OAuth error answer: status, body, no-store; and that no cookie was set. */
function assertError(t: Test, res: LightMyRequestResponse, status: number, error: string) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.equal(res.json().error, error);
  t.equal(res.headers["cache-control"], "no-store");
  t.same(setCookies(res), [], "no cookie on an error");
}

t.test("a first-party sign-in answers an access token, a refresh token and the cookie", async (t) => {
  const res = await aliceLogin();
  t.equal(res.statusCode, 200);
  t.equal(res.headers["cache-control"], "no-store");
  t.match(res.headers["content-type"], /^application\/json/);
  const body = res.json();
  t.same(Object.keys(body).sort(), ["access_token", "expires_in", "refresh_token", "scope", "token_type"]);
  t.equal(body.token_type, "Bearer");
  t.equal(body.expires_in, 900);
  t.equal(body.scope, "read write");
  t.match(body.refresh_token, REFRESH_TOKEN);
  t.equal(Buffer.from(body.refresh_token, "base64url").length, 32, "256 bits");

  const claims = decodeJwt(body.access_token);
  t.equal(claims.iss, "https://tessera.test");
  t.equal(claims.sub, alice.id, "the user is the subject");
  t.equal(claims.client_id, web.clientId);
  t.equal(claims.aud, API);
  t.equal(claims.scope, "read write");
  t.equal(claims.iat, Math.floor(clock.now() / 1000));

  const cookies = setCookies(res);
  t.equal(cookies.length, 2, "one cookie per path");
  t.same(cookies.map((c) => c.attributes.path).sort(), ["/logout", "/refresh"]);
  for (const cookie of cookies) {
    t.equal(cookie.name, "refresh_token");
    t.equal(cookie.value, body.refresh_token, "the cookie carries the refresh token of the body");
    t.equal(cookie.attributes.httponly, true, "HttpOnly");
    t.equal(cookie.attributes.samesite, "Strict");
    t.equal(cookie.attributes.secure, true, "Secure: the issuer is https");
    t.equal(cookie.attributes["max-age"], String(THIRTY_DAYS), "lives as long as the family");
    t.notOk("domain" in cookie.attributes, "host-only");
  }
});

t.test("every sign-in gets its own refresh token, and only a digest of it is stored", async (t) => {
  const first = (await aliceLogin()).json().refresh_token;
  const second = (await aliceLogin()).json().refresh_token;
  t.match(first, REFRESH_TOKEN);
  t.match(second, REFRESH_TOKEN);
  t.not(first, second);
  const rows = await app.services.db.refreshToken.findMany();
  t.ok(rows.length >= 2);
  const dump = JSON.stringify(rows);
  t.notOk(dump.includes(first), "no plain refresh token in the RefreshToken table");
  t.notOk(dump.includes(second), "no plain refresh token in the RefreshToken table");
  t.equal(new Set(rows.map((r) => r.familyId)).size, rows.length, "each sign-in started its own family");
});

t.test("the token from /login works at /refresh", async (t) => {
  const token = (await aliceLogin()).json().refresh_token;
  const res = await app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: token } });
  t.equal(res.statusCode, 200);
  t.equal(decodeJwt(res.json().access_token).sub, alice.id);
});

t.test("an unknown username and a wrong password get the same answer", async (t) => {
  const unknown = await login({ username: "mallory", password: "alice-password-1", client_id: web.clientId });
  const wrong = await login({ username: "alice", password: "not-the-password", client_id: web.clientId });
  assertError(t, unknown, 400, "invalid_grant");
  t.equal(wrong.statusCode, unknown.statusCode, "same status");
  t.equal(wrong.body, unknown.body, "same body");
  t.equal(wrong.headers["content-type"], unknown.headers["content-type"]);
  t.equal(wrong.headers["www-authenticate"], unknown.headers["www-authenticate"]);
});

t.test("a disabled user cannot sign in, with the same answer as a wrong password", async (t) => {
  await app.services.users.create("dora", "dora-password-1");
  await app.services.users.setEnabled("dora", false);
  const disabled = await login({ username: "dora", password: "dora-password-1", client_id: web.clientId });
  assertError(t, disabled, 400, "invalid_grant");
  const wrong = await login({ username: "alice", password: "not-the-password", client_id: web.clientId });
  t.equal(disabled.body, wrong.body);
});

t.test("clients", async (t) => {
  t.test("a third-party client gets unauthorized_client", async (t) => {
    const thirdParty = await createClient({ grantTypes: ["client_credentials"] });
    assertError(t, await aliceLogin(thirdParty.clientId), 400, "unauthorized_client");
  });

  t.test("a first-party client without the password grant gets unauthorized_client", async (t) => {
    const refreshOnly = await firstParty({ grantTypes: ["refresh_token"] });
    assertError(t, await aliceLogin(refreshOnly.clientId), 400, "unauthorized_client");
  });

  t.test("a third-party client is refused before the password is checked", async (t) => {
    const thirdParty = await createClient({ grantTypes: ["client_credentials"] });
    const res = await login({ username: "alice", password: "wrong-password", client_id: thirdParty.clientId });
    assertError(t, res, 400, "unauthorized_client");
  });

  // 400, not 401: a 401 needs a challenge, and WWW-Authenticate: Basic makes a browser pop up its own
  // password dialog over the app's sign-in page.
  t.test("an unknown client_id is 400 invalid_client, without a WWW-Authenticate challenge", async (t) => {
    const res = await login({ username: "alice", password: "alice-password-1", client_id: "no-such-client" });
    assertError(t, res, 400, "invalid_client");
    t.equal(res.headers["www-authenticate"], undefined, "no challenge");
  });

  t.test("a disabled client is 400 invalid_client, without a WWW-Authenticate challenge", async (t) => {
    const disabled = await firstParty();
    await app.services.clientAdmin.update(disabled.clientId, { enabled: false });
    const res = await aliceLogin(disabled.clientId);
    assertError(t, res, 400, "invalid_client");
    t.equal(res.headers["www-authenticate"], undefined, "no challenge");
  });

  t.test("a first-party client without the refresh_token grant gets an access token only, and no cookie", async (t) => {
    const passwordOnly = await firstParty({ grantTypes: ["password"] });
    const res = await aliceLogin(passwordOnly.clientId);
    t.equal(res.statusCode, 200);
    t.notOk("refresh_token" in res.json());
    t.equal(decodeJwt(res.json().access_token).client_id, passwordOnly.clientId);
    t.same(setCookies(res), []);
  });
});

t.test("request format", async (t) => {
  t.test("a form body is refused with invalid_request: /login takes JSON", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ username: "alice", password: "alice-password-1", client_id: web.clientId }).toString(),
    });
    assertError(t, res, 400, "invalid_request");
  });

  t.test("a text/plain body is refused with invalid_request", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "text/plain" },
      payload: JSON.stringify({ username: "alice", password: "alice-password-1", client_id: web.clientId }),
    });
    assertError(t, res, 400, "invalid_request");
  });

  t.test("no body at all is invalid_request", async (t) => {
    assertError(t, await app.inject({ method: "POST", url: "/login" }), 400, "invalid_request");
  });

  t.test("malformed JSON is invalid_request", async (t) => {
    const res = await app.inject({ method: "POST", url: "/login", headers: { "content-type": "application/json" }, payload: "{not json" });
    assertError(t, res, 400, "invalid_request");
  });

  const complete = { username: "alice", password: "alice-password-1", client_id: web.clientId };
  for (const field of ["username", "password", "client_id"] as const) {
    t.test(`a missing ${field} is invalid_request`, async (t) => {
      const { [field]: _omitted, ...rest } = complete;
      const res = await login(rest);
      assertError(t, res, 400, "invalid_request");
      t.match(res.json().error_description, field);
    });

    t.test(`an empty ${field} is invalid_request`, async (t) => {
      assertError(t, await login({ ...complete, [field]: "" }), 400, "invalid_request");
    });

    t.test(`a non-string ${field} is invalid_request`, async (t) => {
      assertError(t, await login({ ...complete, [field]: 42 }), 400, "invalid_request");
    });
  }

  t.test("a JSON array or string body is invalid_request", async (t) => {
    assertError(t, await login([complete]), 400, "invalid_request");
    assertError(t, await login("alice"), 400, "invalid_request");
  });

  t.test("an overlong password is invalid_request, not a slow hash", async (t) => {
    assertError(t, await login({ ...complete, password: "x".repeat(1025) }), 400, "invalid_request");
  });
});

t.test("an http issuer sets the cookie without Secure", async (t) => {
  const plain = await buildTestApp(t, { TESSERA_ISSUER: "http://tessera.test" });
  const client = await plain.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await plain.app.services.users.create("carol", "carol-password-1");
  const res = await plain.app.inject({
    method: "POST",
    url: "/login",
    payload: { username: "carol", password: "carol-password-1", client_id: client.clientId },
  });
  t.equal(res.statusCode, 200);
  const cookies = setCookies(res);
  t.equal(cookies.length, 2);
  for (const cookie of cookies) {
    t.notOk("secure" in cookie.attributes, `no Secure on Path=${cookie.attributes.path}`);
    t.equal(cookie.attributes.httponly, true);
    t.equal(cookie.attributes.samesite, "Strict");
  }
});
