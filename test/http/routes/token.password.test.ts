// POST /token, grant_type=password (RFC 6749 §4.3), for first-party clients only.
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form } from "../../helpers/app.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const API = "https://api.example.test";
const OTHER = "https://other.example.test";

const { app, clock, createClient } = await buildTestApp(t);

type Creds = { clientId: string; clientSecret: string };
const firstParty = (input: Parameters<typeof createClient>[0] = {}) =>
  createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], ...input });

const web = await firstParty();
const alice = await app.services.users.create("alice", "alice-password-1");

const passwordGrant = (creds: Creds, params: Record<string, string | string[]> = {}) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "password", username: "alice", password: "alice-password-1", ...params }),
  });

function assertError(t: Test, res: LightMyRequestResponse, status: number, error: string) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.equal(res.json().error, error);
  t.equal(res.headers["cache-control"], "no-store");
  t.notOk(res.headers["set-cookie"], "/token sets no cookie");
}

t.test("a first-party client gets an access token for the user and a refresh token", async (t) => {
  const res = await passwordGrant(web);
  t.equal(res.statusCode, 200);
  t.equal(res.headers["cache-control"], "no-store");
  const body = res.json();
  t.same(Object.keys(body).sort(), ["access_token", "expires_in", "refresh_token", "scope", "token_type"]);
  t.equal(body.token_type, "Bearer");
  t.equal(body.expires_in, 900);
  t.equal(body.scope, "read write");
  t.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  t.notOk(res.headers["set-cookie"], "the cookie is for /login, not /token");
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, alice.id);
  t.equal(claims.client_id, web.clientId);
  t.equal(claims.aud, API);
  t.equal(claims.scope, "read write");
  t.equal(claims.iat, Math.floor(clock.now() / 1000));
});

t.test("client_secret_post works as well", async (t) => {
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({
      grant_type: "password",
      username: "alice",
      password: "alice-password-1",
      client_id: web.clientId,
      client_secret: web.clientSecret,
    }),
  });
  t.equal(res.statusCode, 200);
  t.equal(decodeJwt(res.json().access_token).sub, alice.id);
});

t.test("the refresh token it returns rotates at /token", async (t) => {
  const refreshToken = (await passwordGrant(web)).json().refresh_token;
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "refresh_token", refresh_token: refreshToken }),
  });
  t.equal(res.statusCode, 200);
  t.not(res.json().refresh_token, refreshToken);
});

t.test("scope and audience", async (t) => {
  t.test("a requested subset of the client's scopes is granted", async (t) => {
    const res = await passwordGrant(web, { scope: "read" });
    t.equal(res.statusCode, 200);
    t.equal(res.json().scope, "read");
    t.equal(decodeJwt(res.json().access_token).scope, "read");
  });

  t.test("a scope beyond the client's is invalid_scope", async (t) => {
    assertError(t, await passwordGrant(web, { scope: "read admin" }), 400, "invalid_scope");
  });

  t.test("resource picks a registered audience", async (t) => {
    const res = await passwordGrant(web, { resource: OTHER });
    t.equal(res.statusCode, 200);
    t.equal(decodeJwt(res.json().access_token).aud, OTHER);
  });

  t.test("an unregistered resource is invalid_target", async (t) => {
    assertError(t, await passwordGrant(web, { resource: "https://elsewhere.test" }), 400, "invalid_target");
  });
});

t.test("a client without the refresh_token grant gets no refresh token", async (t) => {
  const passwordOnly = await firstParty({ grantTypes: ["password"] });
  const res = await passwordGrant(passwordOnly);
  t.equal(res.statusCode, 200);
  t.notOk("refresh_token" in res.json());
});

t.test("an unknown username and a wrong password get the same answer", async (t) => {
  const unknown = await passwordGrant(web, { username: "mallory" });
  const wrong = await passwordGrant(web, { password: "not-the-password" });
  assertError(t, unknown, 400, "invalid_grant");
  t.equal(wrong.statusCode, unknown.statusCode, "same status");
  t.equal(wrong.body, unknown.body, "same body");
  t.equal(wrong.headers["www-authenticate"], unknown.headers["www-authenticate"]);
});

t.test("a disabled user is invalid_grant, like a wrong password", async (t) => {
  await app.services.users.create("dora", "dora-password-1");
  await app.services.users.setEnabled("dora", false);
  const disabled = await passwordGrant(web, { username: "dora", password: "dora-password-1" });
  assertError(t, disabled, 400, "invalid_grant");
  t.equal(disabled.body, (await passwordGrant(web, { password: "not-the-password" })).body);
  await app.services.users.setEnabled("dora", true);
  t.equal((await passwordGrant(web, { username: "dora", password: "dora-password-1" })).statusCode, 200, "enabled again, signs in");
});

t.test("clients", async (t) => {
  t.test("a third-party client is unauthorized_client", async (t) => {
    const thirdParty = await createClient({ grantTypes: ["client_credentials"] });
    assertError(t, await passwordGrant(thirdParty), 400, "unauthorized_client");
  });

  t.test("a first-party client not registered for the password grant is unauthorized_client", async (t) => {
    const noPassword = await firstParty({ grantTypes: ["client_credentials", "refresh_token"] });
    assertError(t, await passwordGrant(noPassword), 400, "unauthorized_client");
  });

  t.test("a client demoted from first-party loses the password grant", async (t) => {
    const demoted = await firstParty({ grantTypes: ["password", "client_credentials"] });
    await app.services.clientAdmin.update(demoted.clientId, { firstParty: false, grantTypes: ["client_credentials"] });
    assertError(t, await passwordGrant(demoted), 400, "unauthorized_client");
  });

  t.test("a client stored with the password grant but not first-party (written around the checks) is unauthorized_client", async (t) => {
    // ClientService never stores this pair; the grant refuses it anyway, should a row say so.
    const edited = await firstParty();
    await app.services.db.client.update({ where: { id: edited.clientId }, data: { firstParty: false } });
    await createClient(); // any write through the service: the registry reloads the table
    t.equal(app.services.clients.get(edited.clientId)?.firstParty, false);
    const res = await passwordGrant(edited);
    assertError(t, res, 400, "unauthorized_client");
    t.equal(res.json().error_description, "the password grant is for first-party clients only");
  });

  t.test("a wrong client secret is 401 invalid_client with a Basic challenge", async (t) => {
    const res = await passwordGrant({ clientId: web.clientId, clientSecret: "wrong" });
    assertError(t, res, 401, "invalid_client");
    t.match(res.headers["www-authenticate"], /^Basic/);
  });

  t.test("no client authentication is 401 invalid_client", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: FORM,
      payload: form({ grant_type: "password", username: "alice", password: "alice-password-1" }),
    });
    assertError(t, res, 401, "invalid_client");
  });

  t.test("the client_id alone, without a secret, is 401 invalid_client", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: FORM,
      payload: form({ grant_type: "password", username: "alice", password: "alice-password-1", client_id: web.clientId }),
    });
    assertError(t, res, 401, "invalid_client");
  });
});

t.test("parameters", async (t) => {
  t.test("a missing username is invalid_request", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "password", password: "alice-password-1" }),
    });
    assertError(t, res, 400, "invalid_request");
  });

  t.test("a missing password is invalid_request", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "password", username: "alice" }),
    });
    assertError(t, res, 400, "invalid_request");
  });

  t.test("an empty username counts as missing: invalid_request", async (t) => {
    assertError(t, await passwordGrant(web, { username: "" }), 400, "invalid_request");
  });

  t.test("a repeated username is invalid_request", async (t) => {
    assertError(t, await passwordGrant(web, { username: ["alice", "alice"] }), 400, "invalid_request");
  });

  t.test("a JSON body is invalid_request: /token takes a form", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { authorization: basic(web.clientId, web.clientSecret) },
      payload: { grant_type: "password", username: "alice", password: "alice-password-1" },
    });
    assertError(t, res, 400, "invalid_request");
  });

  t.test("a password beyond the parameter limit is invalid_request", async (t) => {
    assertError(t, await passwordGrant(web, { password: "x".repeat(5000) }), 400, "invalid_request");
  });
});
