// The admin API for the authorization code flow: clients with redirect_uris and public clients
// (RFC 7591 names; bad metadata is invalid_redirect_uri or invalid_client_metadata), and a user's
// grants (remembered consents): listed, and revoked with the tokens issued under them.
import t from "tap";
import { decodeJwt } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { issueCode } from "../../helpers/code-flow.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const CALLBACK = "https://app.example.test/callback";

type Json = Record<string, unknown>;

const { app, config, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h" });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const ACTOR = `admin:${admin.clientId}`;
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });

const post = (url: string, creds: { clientId: string; clientSecret: string }, params: Record<string, string>) =>
  app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

const adminToken = (await post("/token", admin, { grant_type: "client_credentials", scope: "admin" })).json().access_token as string;

function call(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: Json) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${adminToken}` }, ...(payload !== undefined && { payload }) });
}

const introspect = async (token: string) => (await post("/introspect", apiServer, { token })).json();

async function lastAudit(action: string, target: string) {
  const events = (await call("GET", "/admin/audit?limit=100")).json().events as { action: string; target: string; actor: string; details: Json }[];
  return events.find((e) => e.action === action && e.target === target);
}

t.test("a public client: redirect_uris, no secret, token_endpoint_auth_method none", async (t) => {
  const res = await call("POST", "/admin/clients", {
    client_name: "SPA",
    grant_types: ["authorization_code", "refresh_token"],
    audiences: [API],
    redirect_uris: [CALLBACK, "http://127.0.0.1/callback", "com.example.app:/cb"],
    public: true,
  });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.notOk("client_secret" in body, "no client_secret: a public client has none");
  t.match(body, {
    client_name: "SPA",
    grant_types: ["authorization_code", "refresh_token"],
    token_endpoint_auth_method: "none",
    redirect_uris: [CALLBACK, "http://127.0.0.1/callback", "com.example.app:/cb"],
    public: true,
    jwks: null,
  });
  const shown = (await call("GET", `/admin/clients/${body.client_id}`)).json();
  t.strictSame(shown, body, "GET answers it the same");
  const stored = await app.services.db.client.findUniqueOrThrow({ where: { id: body.client_id } });
  t.equal(stored.secretDigest, null, "no secret digest stored");

  const rotate = await call("POST", `/admin/clients/${body.client_id}/secret`, {});
  expectOAuthError(t, rotate, 400, "invalid_request");
  t.equal(rotate.json().error_description, "public: a public client has no secret to rotate");
});

t.test("a confidential code-flow client gets a secret and client_secret_basic", async (t) => {
  const res = await call("POST", "/admin/clients", { client_name: "Web", grant_types: ["authorization_code"], audiences: [API], redirect_uris: [CALLBACK] });
  t.equal(res.statusCode, 201);
  t.match(res.json(), { token_endpoint_auth_method: "client_secret_basic", redirect_uris: [CALLBACK], public: false, client_secret: /^[A-Za-z0-9_-]{43}$/ });
});

t.test("bad code-flow metadata is refused with RFC 7591's error codes, and nothing is registered", async (t) => {
  const before = (await call("GET", "/admin/clients")).json().clients.length;
  const cases: [string, Json, string, string][] = [
    ["authorization_code without redirect_uris", { grant_types: ["authorization_code"] }, "invalid_redirect_uri", "redirect-uri: authorization_code needs at least one redirect URI (--redirect-uri)"],
    ["http on a public host", { grant_types: ["authorization_code"], redirect_uris: ["http://app.example.test/cb"] }, "invalid_redirect_uri", 'redirect-uri <http://app.example.test/cb>: http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https'],
    ["a fragment", { grant_types: ["authorization_code"], redirect_uris: [`${CALLBACK}#x`] }, "invalid_redirect_uri", `redirect-uri <${CALLBACK}#x>: must not contain a fragment (#)`],
    ["a javascript: URI", { grant_types: ["authorization_code"], redirect_uris: ["javascript:alert(1)"] }, "invalid_redirect_uri", 'redirect-uri <javascript:alert(1)>: must use https, http on a loopback address, or a private-use scheme in reverse-domain form (com.example.app:/callback)'],
    ["a public client with client_credentials", { grant_types: ["client_credentials"], public: true }, "invalid_client_metadata", "public: a public client (no secret) may use only authorization_code and refresh_token, not client_credentials"],
    ["a public client with password", { grant_types: ["authorization_code", "password"], redirect_uris: [CALLBACK], public: true, first_party: true }, "invalid_client_metadata", "public: a public client (no secret) may use only authorization_code and refresh_token, not password"],
    ["a public client with keys", { grant_types: ["authorization_code"], redirect_uris: [CALLBACK], public: true, jwks: { keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }] } }, "invalid_client_metadata", "public: a public client has no keys (jwks) and no secret"],
  ];
  for (const [name, fields, error, description] of cases) {
    const res = await call("POST", "/admin/clients", { client_name: "x", audiences: [API], ...fields });
    expectOAuthError(t, res, 400, error);
    t.equal(res.json().error_description, description, name);
  }
  const tooMany = await call("POST", "/admin/clients", { client_name: "x", audiences: [API], grant_types: ["authorization_code"], redirect_uris: Array.from({ length: 21 }, (_, i) => `${CALLBACK}${i}`) });
  expectOAuthError(t, tooMany, 400, "invalid_request");
  t.match(tooMany.json().error_description, /redirect_uris.*at most 20 redirect URIs/);
  t.equal((await call("GET", "/admin/clients")).json().clients.length, before);
});

t.test("PATCH: redirect_uris replaced; made public, the client loses its secret", async (t) => {
  const created = (await call("POST", "/admin/clients", { client_name: "Web", grant_types: ["authorization_code", "refresh_token"], audiences: [API], redirect_uris: [CALLBACK] })).json();
  const patched = await call("PATCH", `/admin/clients/${created.client_id}`, { redirect_uris: ["https://app.example.test/new"] });
  t.equal(patched.statusCode, 200);
  t.strictSame(patched.json().redirect_uris, ["https://app.example.test/new"]);

  const emptied = await call("PATCH", `/admin/clients/${created.client_id}`, { redirect_uris: [] });
  expectOAuthError(t, emptied, 400, "invalid_redirect_uri");

  const issued = await issueCode(app, (await app.services.users.create("dave", "dave-password-1")).id, created.client_id, { redirectUri: "https://app.example.test/new", audience: [API] });
  const madePublic = await call("PATCH", `/admin/clients/${created.client_id}`, { public: true });
  t.equal(madePublic.statusCode, 200);
  t.match(madePublic.json(), { public: true, token_endpoint_auth_method: "none" });
  const withOldSecret = await post("/token", { clientId: created.client_id, clientSecret: created.client_secret }, {
    grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: "https://app.example.test/new",
  });
  expectOAuthError(t, withOldSecret, 401, "invalid_client");
  const withClientId = await app.inject({ method: "POST", url: "/token", headers: FORM, payload: form({
    grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: "https://app.example.test/new", client_id: created.client_id,
  }) });
  t.equal(withClientId.statusCode, 200, "it authenticates with client_id alone now");

  const badGrant = await call("PATCH", `/admin/clients/${created.client_id}`, { grant_types: ["client_credentials"] });
  expectOAuthError(t, badGrant, 400, "invalid_client_metadata");
  t.match(await lastAudit("client.update", `client:${created.client_id}`), { actor: ACTOR, details: { fields: ["public"] } });
});

t.test("post_logout_redirect_uris: registered, validated as redirect URIs, replaced and cleared by PATCH", async (t) => {
  const LOGGED_OUT = "https://app.example.test/logged-out";
  const created = await call("POST", "/admin/clients", {
    client_name: "RP", grant_types: ["authorization_code"], audiences: [API], redirect_uris: [CALLBACK], post_logout_redirect_uris: [LOGGED_OUT, "http://127.0.0.1/bye"],
  });
  t.equal(created.statusCode, 201);
  const id = created.json().client_id as string;
  t.strictSame(created.json().post_logout_redirect_uris, [LOGGED_OUT, "http://127.0.0.1/bye"]);
  t.strictSame((await call("GET", `/admin/clients/${id}`)).json().post_logout_redirect_uris, [LOGGED_OUT, "http://127.0.0.1/bye"]);

  const bad = await call("PATCH", `/admin/clients/${id}`, { post_logout_redirect_uris: ["javascript:alert(1)"] });
  expectOAuthError(t, bad, 400, "invalid_redirect_uri");
  t.equal(bad.json().error_description, "post-logout-redirect-uri <javascript:alert(1)>: must use https, http on a loopback address, or a private-use scheme in reverse-domain form (com.example.app:/callback)");
  const fragment = await call("PATCH", `/admin/clients/${id}`, { post_logout_redirect_uris: [`${LOGGED_OUT}#x`] });
  expectOAuthError(t, fragment, 400, "invalid_redirect_uri");
  const tooMany = await call("PATCH", `/admin/clients/${id}`, { post_logout_redirect_uris: Array.from({ length: 21 }, (_, i) => `${LOGGED_OUT}${i}`) });
  expectOAuthError(t, tooMany, 400, "invalid_request");
  t.match(tooMany.json().error_description, /post_logout_redirect_uris.*at most 20 post-logout redirect URIs/);

  const replaced = await call("PATCH", `/admin/clients/${id}`, { post_logout_redirect_uris: ["https://app.example.test/other"] });
  t.equal(replaced.statusCode, 200);
  t.strictSame(replaced.json().post_logout_redirect_uris, ["https://app.example.test/other"]);
  t.strictSame(replaced.json().redirect_uris, [CALLBACK], "redirect_uris untouched");
  t.match(await lastAudit("client.update", `client:${id}`), { actor: ACTOR, details: { fields: ["postLogoutRedirectUris"] } });
  const cleared = await call("PATCH", `/admin/clients/${id}`, { post_logout_redirect_uris: [] });
  t.equal(cleared.statusCode, 200);
  t.strictSame(cleared.json().post_logout_redirect_uris, []);
});

t.test("a user's grants: listed, and revoked with the tokens issued under them", async (t) => {
  const erin = await app.services.users.create("erin", "erin-password-1");
  const web = await createClient({ name: "Erin's app", grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API], scopes: ["read", "write"] });
  const issued = await issueCode(app, erin.id, web.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["read"] });
  await app.services.grants.recordConsent({ userId: erin.id, clientId: web.clientId, scope: ["write"], audience: [API] });
  const tokens = (await post("/token", web, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK })).json();

  const list = await call("GET", `/admin/users/${erin.id}/grants`);
  t.equal(list.statusCode, 200);
  t.equal(list.headers["cache-control"], "no-store");
  const [grant] = list.json().grants;
  t.equal(list.json().grants.length, 1);
  t.strictSame({ ...grant, created_at: "", updated_at: "" }, {
    id: issued.grantId,
    user_id: erin.id,
    client_id: web.clientId,
    client_name: "Erin's app",
    scope: "read write",
    audiences: [API],
    created_at: "",
    updated_at: "",
  }, "a second consent widened the grant");

  const revoked = await call("DELETE", `/admin/users/${erin.id}/grants/${web.clientId}`);
  t.equal(revoked.statusCode, 200);
  t.strictSame(revoked.json(), { revoked: issued.grantId, refresh_families_revoked: 1, access_tokens_revoked: 1 });
  t.strictSame(await introspect(tokens.access_token), { active: false });
  expectOAuthError(t, await post("/token", web, { grant_type: "refresh_token", refresh_token: tokens.refresh_token }), 400, "invalid_grant");
  t.strictSame((await call("GET", `/admin/users/${erin.id}/grants`)).json(), { grants: [] });
  t.match(await lastAudit("grant.revoke", `grant:${issued.grantId}`), {
    actor: ACTOR,
    details: { userId: erin.id, clientId: web.clientId, families: 1, accessTokensRevoked: 1 },
  });
  t.equal(decodeJwt(tokens.access_token).sub, erin.id);

  const again = await call("DELETE", `/admin/users/${erin.id}/grants/${web.clientId}`);
  expectOAuthError(t, again, 404, "invalid_request");
  t.equal(again.json().error_description, `no live grant of user ${erin.id} to client ${web.clientId}`);
});

t.test("grants of an unknown user are 404; bad ids are 400", async (t) => {
  const unknown = await call("GET", "/admin/users/7d4f2a52-5a38-4e0c-9d43-2f1c2b6c5b11/grants");
  expectOAuthError(t, unknown, 404, "invalid_request");
  expectOAuthError(t, await call("GET", "/admin/users/not-a-uuid/grants"), 400, "invalid_request");
  expectOAuthError(t, await call("DELETE", "/admin/users/7d4f2a52-5a38-4e0c-9d43-2f1c2b6c5b11/grants/bad%20id"), 400, "invalid_request");
});
