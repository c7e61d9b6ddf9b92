// The admin API with a valid admin token: clients, keys, users and the audit log, each change
// checked by its effect (the client gets tokens, the key signs, the user signs in) and by its audit
// entry under "admin:<client_id>". Who may call it is admin.auth.test.ts.
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { runCli } from "../../helpers/cli.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const OTHER = "https://other.example.test";
const SECRET = /^[A-Za-z0-9_-]{43,}$/; // base64url of at least 32 bytes
const PASSWORD = "correct horse battery staple";

type Json = Record<string, unknown>;

/** A client as the admin API answers it (and `tessera clients … --json` prints it), in this order. */
const CLIENT_FIELDS = [
  "client_id", "client_name", "grant_types", "scope", "audiences", "token_endpoint_auth_method", "redirect_uris", "post_logout_redirect_uris", "public",
  "dpop_bound_access_tokens", "require_pushed_authorization_requests", "jwks", "token_ttl",
  "first_party", "introspect", "enabled", "previous_secret_expires_at", "created_at", "updated_at",
];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
type AuditEvent = { id: number; at: string; actor: string; action: string; target: string; details: Json };

const { app, config, clock, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h" });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const ACTOR = `admin:${admin.clientId}`;

async function tokenResponse(clientId: string, secret: string, params: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(clientId, secret) },
    payload: form({ grant_type: "client_credentials", ...params }),
  });
}

const adminTokenRes = await tokenResponse(admin.clientId, admin.clientSecret, { scope: "admin" });
const adminToken = (adminTokenRes.json() as { access_token: string }).access_token;

/** An admin API call with the admin token; a payload goes as JSON. */
function call(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: Json | string, headers: Record<string, string> = {}) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${adminToken}`, ...headers }, ...(payload !== undefined && { payload }) });
}

async function auditEvents(limit = 200): Promise<AuditEvent[]> {
  const res = await call("GET", `/admin/audit?limit=${limit}`);
  return (res.json() as { events: AuditEvent[] }).events;
}

/** The newest audit event with this action and target. */
async function lastAudit(action: string, target: string): Promise<AuditEvent | undefined> {
  return (await auditEvents()).find((e) => e.action === action && e.target === target);
}

const SECRET_FIELDS = ["secretDigest", "secret_digest", "previousSecretDigest", "privateKey", "private_key", "passwordHash", "password_hash", "password"];
function noSecrets(t: Test, body: string, what: string): void {
  for (const field of SECRET_FIELDS) t.notMatch(body, new RegExp(`"${field}"`), `${what}: no ${field}`);
}

t.test("clients", async (t) => {
  let created: Json & { client_id: string; client_secret: string };

  t.test("POST /admin/clients registers a client that gets tokens at once", async (t) => {
    const res = await call("POST", "/admin/clients", { client_name: "Acme", grant_types: ["client_credentials"], audiences: [API, OTHER], scope: "read write", token_ttl: 600 });
    t.equal(res.statusCode, 201);
    t.equal(res.headers["cache-control"], "no-store");
    created = res.json();
    t.same(Object.keys(created).sort(), [...CLIENT_FIELDS, "client_secret"].sort(), "every field of a client, and its secret");
    const { client_id, client_secret, created_at, updated_at, ...rest } = created;
    t.same(rest, {
      client_name: "Acme",
      grant_types: ["client_credentials"],
      scope: "read write",
      audiences: [API, OTHER],
      token_endpoint_auth_method: "client_secret_basic",
      redirect_uris: [],
      post_logout_redirect_uris: [],
      public: false,
      dpop_bound_access_tokens: false,
      require_pushed_authorization_requests: false,
      jwks: null,
      token_ttl: 600,
      first_party: false,
      introspect: false,
      enabled: true,
      previous_secret_expires_at: null,
    });
    t.match(client_secret, SECRET, "a server-generated secret of at least 256 bits, shown once");
    t.match(client_id, /^[A-Za-z0-9_-]{16,}$/);
    t.not(client_secret, client_id);
    t.match(created_at, ISO_TIME);
    t.match(updated_at, ISO_TIME);

    const token = await tokenResponse(created.client_id, created.client_secret, { scope: "read" });
    t.equal(token.statusCode, 200, "the new client gets a token without waiting for a reload");
    t.equal(token.json().expires_in, 600, "with its token lifetime");

    t.match(await lastAudit("client.create", `client:${created.client_id}`), { actor: ACTOR, details: { name: "Acme" } });
  });

  t.test("GET /admin/clients lists every client without secrets", async (t) => {
    const res = await call("GET", "/admin/clients");
    t.equal(res.statusCode, 200);
    const { clients } = res.json() as { clients: Json[] };
    const ids = clients.map((c) => c.client_id);
    t.ok(ids.includes(admin.clientId) && ids.includes(created.client_id));
    for (const client of clients) t.same(Object.keys(client), CLIENT_FIELDS, `${client.client_id}: the same fields as GET /admin/clients/:id`);
    noSecrets(t, res.body, "client list");
    t.notMatch(res.body, created.client_secret, "the secret is not shown again");
  });

  t.test("GET /admin/clients/:id", async (t) => {
    const res = await call("GET", `/admin/clients/${created.client_id}`);
    t.equal(res.statusCode, 200);
    const { client_secret: _secret, ...withoutSecret } = created;
    t.same(res.json(), withoutSecret, "the same fields as at creation, minus the secret");
    t.same(Object.keys(res.json()), CLIENT_FIELDS);
    noSecrets(t, res.body, "client");
    expectOAuthError(t, await call("GET", "/admin/clients/no-such-client"), 404, "invalid_request");
  });

  t.test("POST /admin/clients still takes name, the older spelling of client_name, but not both", async (t) => {
    const res = await call("POST", "/admin/clients", { name: "Old Spelling", grant_types: ["client_credentials"], audiences: [API] });
    t.equal(res.statusCode, 201);
    t.equal(res.json().client_name, "Old Spelling");
    t.notOk("name" in res.json(), "answered as client_name only");
    const both = await call("POST", "/admin/clients", { client_name: "a", name: "b", grant_types: ["client_credentials"], audiences: [API] });
    expectOAuthError(t, both, 400, "invalid_request");
    t.equal(both.json().error_description, "client_name and name are the same field: give only client_name");
    const neither = await call("POST", "/admin/clients", { grant_types: ["client_credentials"], audiences: [API] });
    expectOAuthError(t, neither, 400, "invalid_request");
    t.equal(neither.json().error_description, "client_name is required");
    const renamed = await call("PATCH", `/admin/clients/${res.json().client_id}`, { name: "Renamed" });
    t.equal(renamed.json().client_name, "Renamed", "PATCH takes it too");
  });

  t.test("a client registered with keys: private_key_jwt, its jwks, and no secret", async (t) => {
    const { publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    const res = await call("POST", "/admin/clients", { client_name: "Keys", grant_types: ["client_credentials"], audiences: [API], jwks: { keys: [jwk] } });
    t.equal(res.statusCode, 201);
    t.same(Object.keys(res.json()), CLIENT_FIELDS, "no client_secret");
    t.equal(res.json().token_endpoint_auth_method, "private_key_jwt");
    t.same(res.json().jwks, { keys: [jwk] });
  });

  t.test("POST /admin/clients rejects bad input with invalid_request", async (t) => {
    const bad: Array<[string, Json | string, Record<string, string>?]> = [
      ["no name", { grant_types: ["client_credentials"], audiences: [API] }],
      ["no audience", { name: "x", grant_types: ["client_credentials"], audiences: [] }],
      ["an audience that is not a URI", { name: "x", grant_types: ["client_credentials"], audiences: ["api"] }],
      ["an unknown grant type", { name: "x", grant_types: ["device_code"], audiences: [API] }],
      ["password for a third-party client", { name: "x", grant_types: ["password"], audiences: [API] }],
      ["a bad scope token", { name: "x", grant_types: ["client_credentials"], audiences: [API], scope: 'read "write"' }],
      ["a token lifetime of 0", { name: "x", grant_types: ["client_credentials"], audiences: [API], token_ttl: 0 }],
      ["a form body", "name=x&grant_types=client_credentials", { "content-type": "application/x-www-form-urlencoded" }],
    ];
    const before = (await call("GET", "/admin/clients")).json().clients.length;
    for (const [name, payload, headers] of bad) {
      t.test(name, async (t) => {
        expectOAuthError(t, await call("POST", "/admin/clients", payload, headers), 400, "invalid_request");
      });
    }
    t.test("none of them was registered", async (t) => {
      t.equal((await call("GET", "/admin/clients")).json().clients.length, before);
    });
  });

  t.test("PATCH /admin/clients/:id changes what the client may do", async (t) => {
    const res = await call("PATCH", `/admin/clients/${created.client_id}`, { client_name: "Acme Corp", scope: "read", token_ttl: 120 });
    t.equal(res.statusCode, 200);
    t.same(Object.keys(res.json()), CLIENT_FIELDS);
    t.match(res.json(), { client_id: created.client_id, client_name: "Acme Corp", scope: "read", token_ttl: 120, audiences: [API, OTHER] });
    const token = await tokenResponse(created.client_id, created.client_secret);
    t.equal(token.statusCode, 200);
    t.equal(token.json().expires_in, 120);
    expectOAuthError(t, await tokenResponse(created.client_id, created.client_secret, { scope: "write" }), 400, "invalid_scope");
    t.match(await lastAudit("client.update", `client:${created.client_id}`), { actor: ACTOR });

    const disabled = await call("PATCH", `/admin/clients/${created.client_id}`, { enabled: false });
    t.equal(disabled.json().enabled, false);
    expectOAuthError(t, await tokenResponse(created.client_id, created.client_secret), 401, "invalid_client");
    await call("PATCH", `/admin/clients/${created.client_id}`, { enabled: true });
    t.equal((await tokenResponse(created.client_id, created.client_secret)).statusCode, 200, "enabled again");

    expectOAuthError(t, await call("PATCH", "/admin/clients/no-such-client", { name: "x" }), 404, "invalid_request");
    expectOAuthError(t, await call("PATCH", `/admin/clients/${created.client_id}`, { audiences: ["not a uri"] }), 400, "invalid_request");
    expectOAuthError(t, await call("PATCH", `/admin/clients/${created.client_id}`, { enabled: "no" }), 400, "invalid_request");
  });

  t.test("PATCH /admin/clients/:id introspect: a resource server may then introspect tokens for its audiences, and then not", async (t) => {
    const api = (await call("POST", "/admin/clients", { client_name: "API", grant_types: ["client_credentials"], audiences: [API] })).json();
    const accessToken = (await tokenResponse(created.client_id, created.client_secret, { resource: API })).json().access_token;
    const introspect = async () =>
      (await app.inject({ method: "POST", url: "/introspect", headers: { ...FORM, authorization: basic(api.client_id, api.client_secret) }, payload: form({ token: accessToken }) })).json();
    t.same(await introspect(), { active: false }, "not allowed to yet");
    const allowed = await call("PATCH", `/admin/clients/${api.client_id}`, { introspect: true });
    t.equal(allowed.json().introspect, true);
    t.match(await introspect(), { active: true, client_id: created.client_id, aud: API });
    t.equal((await call("PATCH", `/admin/clients/${api.client_id}`, { introspect: false })).json().introspect, false);
    t.same(await introspect(), { active: false }, "not allowed any more");
  });

  t.test("PATCH /admin/clients/:id with {} changes nothing and answers the client (not 404)", async (t) => {
    const before = await call("GET", `/admin/clients/${created.client_id}`);
    const events = (await auditEvents()).length;
    const res = await call("PATCH", `/admin/clients/${created.client_id}`, {});
    t.equal(res.statusCode, 200);
    t.same(res.json(), before.json(), "the client as it is, updated_at included");
    t.equal((await auditEvents()).length, events, "nothing was written to the audit log");
    expectOAuthError(t, await call("PATCH", "/admin/clients/no-such-client", {}), 404, "invalid_request");
  });

  t.test("the CLI prints a client exactly as the admin API answers it", async (t) => {
    const env = { ...process.env, DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek!, TESSERA_ISSUER: config.issuer };
    const api = (await call("GET", `/admin/clients/${created.client_id}`)).json();
    const show = await runCli(["clients", "show", created.client_id, "--json"], { env });
    t.equal(show.code, 0, show.stderr);
    t.same(JSON.parse(show.stdout), api, "clients show --json");
    t.same(Object.keys(JSON.parse(show.stdout)), CLIENT_FIELDS, "in the same order");
    const list = await runCli(["clients", "list", "--json"], { env });
    t.equal(list.code, 0, list.stderr);
    t.same(JSON.parse(list.stdout), (await call("GET", "/admin/clients")).json().clients, "clients list --json: the API's clients array");
    const update = await runCli(["clients", "update", created.client_id, "--json"], { env });
    t.equal(update.code, 0, `clients update with no options exits 0 ${update.stderr}`);
    t.same(JSON.parse(update.stdout), api, "and prints the client unchanged");
  });

  t.test("POST /admin/clients/:id/secret", async (t) => {
    t.test("without grace: the old secret stops working at once", async (t) => {
      const res = await call("POST", `/admin/clients/${created.client_id}/secret`);
      t.equal(res.statusCode, 200);
      const body = res.json() as { client_id: string; client_secret: string; previous_secret_expires_at: string | null };
      t.same(Object.keys(body).sort(), ["client_id", "client_secret", "previous_secret_expires_at"]);
      t.equal(body.client_id, created.client_id);
      t.match(body.client_secret, SECRET);
      t.not(body.client_secret, created.client_secret);
      t.equal(body.previous_secret_expires_at, null);
      expectOAuthError(t, await tokenResponse(created.client_id, created.client_secret), 401, "invalid_client");
      t.equal((await tokenResponse(created.client_id, body.client_secret)).statusCode, 200);
      t.match(await lastAudit("client.rotate_secret", `client:${created.client_id}`), { actor: ACTOR, details: { graceSeconds: 0 } });
      created.client_secret = body.client_secret;
    });

    t.test("with grace_seconds: both work until the grace period ends", async (t) => {
      const res = await call("POST", `/admin/clients/${created.client_id}/secret`, { grace_seconds: 60 });
      t.equal(res.statusCode, 200);
      const body = res.json() as { client_secret: string; previous_secret_expires_at: string };
      t.equal(body.previous_secret_expires_at, new Date(clock.now() + 60_000).toISOString());
      t.equal((await tokenResponse(created.client_id, created.client_secret)).statusCode, 200, "the previous secret, during the grace period");
      t.equal((await tokenResponse(created.client_id, body.client_secret)).statusCode, 200, "the new secret");
      clock.advance(60);
      expectOAuthError(t, await tokenResponse(created.client_id, created.client_secret), 401, "invalid_client");
      t.equal((await tokenResponse(created.client_id, body.client_secret)).statusCode, 200);
      created.client_secret = body.client_secret;
    });

    t.test("bad input", async (t) => {
      expectOAuthError(t, await call("POST", "/admin/clients/no-such-client/secret"), 404, "invalid_request");
      expectOAuthError(t, await call("POST", `/admin/clients/${created.client_id}/secret`, { grace_seconds: -1 }), 400, "invalid_request");
    });
  });

  t.test("DELETE /admin/clients/:id", async (t) => {
    const res = await call("DELETE", `/admin/clients/${created.client_id}`);
    t.equal(res.statusCode, 204);
    t.equal(res.body, "");
    expectOAuthError(t, await call("GET", `/admin/clients/${created.client_id}`), 404, "invalid_request");
    expectOAuthError(t, await tokenResponse(created.client_id, created.client_secret), 401, "invalid_client");
    expectOAuthError(t, await call("DELETE", `/admin/clients/${created.client_id}`), 404, "invalid_request");
    t.match(await lastAudit("client.delete", `client:${created.client_id}`), { actor: ACTOR });
  });
});

t.test("keys", async (t) => {
  const firstKid = app.services.keys.signer!.kid;
  const signingCreds = await createClient();
  const signedBy = async () => decodeProtectedHeader((await tokenResponse(signingCreds.clientId, signingCreds.clientSecret)).json().access_token).kid;
  const jwksKids = async () => (JSON.parse((await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body) as { keys: Json[] }).keys.map((k) => k.kid);

  t.test("GET /admin/keys shows public facts only", async (t) => {
    const res = await call("GET", "/admin/keys");
    t.equal(res.statusCode, 200);
    const { keys } = res.json() as { keys: Json[] };
    t.equal(keys.length, 1);
    t.same(Object.keys(keys[0]!).sort(), ["activates_at", "alg", "created_at", "generation", "kid", "published", "retired_since", "state"]);
    t.match(keys[0], { kid: firstKid, alg: "RS256", state: "active", generation: 1, retired_since: null, published: true });
    noSecrets(t, res.body, "keys");
    t.notMatch(res.body, /"d"|PRIVATE KEY|v1\./, "no private key material, sealed or not");
  });

  t.test("POST /admin/keys/rotate without now: pending, published at once, signs after the delay", async (t) => {
    const res = await call("POST", "/admin/keys/rotate", { now: false });
    t.equal(res.statusCode, 201);
    const key = res.json() as { kid: string; state: string; activates_at: string; created_at: string };
    t.equal(key.state, "pending");
    t.equal(Date.parse(key.activates_at) - Date.parse(key.created_at), config.keyActivationDelaySeconds * 1000);
    t.same(await jwksKids(), [firstKid, key.kid], "this instance publishes it at once");
    t.equal(await signedBy(), firstKid, "not signing yet");
    clock.advance(config.keyActivationDelaySeconds);
    await app.services.keys.refresh();
    t.equal(await signedBy(), key.kid, "signing after KEY_ACTIVATION_DELAY");
    t.match(await lastAudit("key.create", `key:${key.kid}`), { actor: ACTOR, details: { alg: "RS256", activatesAt: key.activates_at } });
  });

  t.test("POST /admin/keys/rotate with no body is a rotation without now", async (t) => {
    const res = await call("POST", "/admin/keys/rotate");
    t.equal(res.statusCode, 201);
    t.equal(res.json().state, "pending");
  });

  t.test("POST /admin/keys/rotate with now: signs at once", async (t) => {
    const res = await call("POST", "/admin/keys/rotate", { now: true });
    t.equal(res.statusCode, 201);
    const key = res.json() as { kid: string; state: string };
    t.equal(key.state, "active");
    t.equal(await signedBy(), key.kid);
    t.equal(app.services.keys.signer?.kid, key.kid);
  });

  t.test("POST /admin/keys/rotate rejects bad input", async (t) => {
    expectOAuthError(t, await call("POST", "/admin/keys/rotate", { now: "yes" }), 400, "invalid_request");
    expectOAuthError(t, await call("POST", "/admin/keys/rotate", "now=true", FORM), 400, "invalid_request");
  });

  t.test("POST /admin/keys/:kid/retire", async (t) => {
    const active = app.services.keys.signer!.kid;
    const res = await call("POST", `/admin/keys/${active}/retire`);
    t.equal(res.statusCode, 200);
    t.match(res.json(), { kid: active, state: "retired", published: true, retired_since: new Date(clock.now()).toISOString() });
    const successor = app.services.keys.signer!.kid;
    t.not(successor, active, "another key signs at once");
    t.equal(await signedBy(), successor);
    t.ok((await jwksKids()).includes(active), "the retired key stays published for its tokens");
    t.match(await lastAudit("key.retire", `key:${active}`), { actor: ACTOR });

    expectOAuthError(t, await call("POST", `/admin/keys/${active}/retire`), 400, "invalid_request");
    expectOAuthError(t, await call("POST", "/admin/keys/no-such-kid/retire"), 404, "invalid_request");
  });

  t.test("every state reported by GET /admin/keys matches what the JWKS publishes", async (t) => {
    const { keys } = (await call("GET", "/admin/keys")).json() as { keys: Array<{ kid: string; state: string; published: boolean }> };
    t.same(keys.filter((k) => k.state === "active").length, 1, "one signer");
    t.same(keys.filter((k) => k.published).map((k) => k.kid), await jwksKids());
  });
});

t.test("schema failures say what the field must be, never a regular expression", async (t) => {
  const victim = await createClient();
  const client = `/admin/clients/${victim.clientId}`;
  const create = { client_name: "x", grant_types: ["client_credentials"], audiences: [API] };
  const cases: Array<[string, "GET" | "POST" | "PATCH", string, Json | string | undefined, string]> = [
    ["a string for a boolean", "PATCH", client, { enabled: "yes" }, "enabled must be a boolean"],
    ["one URI for the audiences", "PATCH", client, { audiences: "https://api.example.test" }, "audiences must be an array of URIs (1 to 32, each at most 2048 characters)"],
    ["no audience", "POST", "/admin/clients", { ...create, audiences: [] }, "audiences must be an array of URIs (1 to 32, each at most 2048 characters)"],
    ["a limit that is not a number", "GET", "/admin/audit?limit=abc", undefined, "limit must be an integer from 1 to 500"],
    ["a limit of 0", "GET", "/admin/audit?limit=0", undefined, "limit must be an integer from 1 to 500"],
    ["a limit of 501", "GET", "/admin/audit?limit=501", undefined, "limit must be an integer from 1 to 500"],
    ["limit twice", "GET", "/admin/audit?limit=1&limit=2", undefined, "limit must be an integer from 1 to 500"],
    ["a before that is not an id", "GET", "/admin/audit?before=x", undefined, "before must be an event id (a whole number)"],
    ["a token lifetime of 0", "PATCH", client, { token_ttl: 0 }, "token_ttl must be a number of seconds from 1 to 86400, or null for the server default"],
    ["a fractional token lifetime", "POST", "/admin/clients", { ...create, token_ttl: 1.5 }, "token_ttl must be a number of seconds from 1 to 86400, or null for the server default"],
    ["no grant type", "POST", "/admin/clients", { ...create, grant_types: [] }, "grant_types must be an array of 1 to 8 grant types (authorization_code, client_credentials, password, refresh_token)"],
    ["a missing field", "POST", "/admin/clients", { client_name: "x", audiences: [API] }, "grant_types is required"],
    ["an empty name", "PATCH", client, { client_name: "" }, "client_name must be a string of 1 to 200 characters"],
    ["a number for the scope", "PATCH", client, { scope: 7 }, "scope must be a string of space-separated scope tokens, at most 4096 characters"],
    ["a jwks that is not a JWK Set", "PATCH", client, { jwks: { keys: "none" } }, "jwks must be a JWK Set, {keys: [...]} with at most 10 public keys, or null"],
    ["a negative grace period", "POST", `${client}/secret`, { grace_seconds: -1 }, "grace_seconds must be a number of seconds from 0 to 2592000 (30 days)"],
    ["a string for now", "POST", "/admin/keys/rotate", { now: "yes" }, "now must be a boolean"],
    ["a client id that cannot be one", "GET", "/admin/clients/not.an.id", undefined, "path parameter id must be a client_id (at most 64 letters, digits, - or _)"],
    ["a JSON array for the body", "POST", "/admin/clients", "[1]", "the request body is missing or not an object"],
  ];
  for (const [name, method, url, payload, description] of cases) {
    t.test(name, async (t) => {
      const res = await call(method, url, payload, typeof payload === "string" ? { "content-type": "application/json" } : {});
      expectOAuthError(t, res, 400, "invalid_request");
      t.equal(res.json().error_description, description);
    });
  }
  t.test("limit=500 is a page of up to 500", async (t) => {
    t.equal((await call("GET", "/admin/audit?limit=500")).statusCode, 200);
  });
});

t.test("path parameters that Fastify's router refuses", async (t) => {
  // Fastify's router refuses these before any hook runs; the answer must still be the OAuth shape.
  t.test("an overlong path parameter is 414 invalid_request, in the OAuth error shape", async (t) => {
    for (const url of [`/admin/keys/${"k".repeat(200)}/retire`, `/admin/clients/${"c".repeat(200)}`]) {
      const res = await call(url.endsWith("retire") ? "POST" : "GET", url);
      expectOAuthError(t, res, 414, "invalid_request");
    }
  });

  t.test("a path parameter with broken percent-encoding is invalid_request, in the OAuth error shape", async (t) => {
    expectOAuthError(t, await call("GET", "/admin/clients/%E0%A4%A"), 400, "invalid_request");
  });
});

t.test("POST /admin/users", async (t) => {
  const web = await createClient({ grantTypes: ["password", "refresh_token"], firstParty: true, scopes: ["read"], audiences: [API] });

  t.test("registers a user who can sign in", async (t) => {
    const res = await call("POST", "/admin/users", { username: "alice", password: PASSWORD });
    t.equal(res.statusCode, 201);
    const user = res.json() as { id: string; username: string; enabled: boolean; created_at: string };
    t.same(Object.keys(user).sort(), ["created_at", "email", "email_verified", "enabled", "id", "name", "updated_at", "username"], "no password or hash in the answer");
    t.match(user, { username: "alice", enabled: true });
    const signIn = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "password", username: "alice", password: PASSWORD }),
    });
    t.equal(signIn.statusCode, 200, signIn.body);
    t.match(await lastAudit("user.create", `user:${user.id}`), { actor: ACTOR, details: { username: "alice" } });
    t.notMatch(JSON.stringify(await auditEvents()), PASSWORD, "the password is in no audit entry");
  });

  t.test("rejects bad input with invalid_request", async (t) => {
    expectOAuthError(t, await call("POST", "/admin/users", { username: "alice", password: PASSWORD }), 400, "invalid_request");
    expectOAuthError(t, await call("POST", "/admin/users", { username: "bob", password: "short" }), 400, "invalid_request");
    expectOAuthError(t, await call("POST", "/admin/users", { username: "bob" }), 400, "invalid_request");
    expectOAuthError(t, await call("POST", "/admin/users", { username: "has space", password: PASSWORD }), 400, "invalid_request");
    expectOAuthError(t, await call("POST", "/admin/users", { username: "bob", password: 12345678 }), 400, "invalid_request");
  });
});

t.test("audit log", async (t) => {
  t.test("refresh-token reuse is audited", async (t) => {
    const web = await createClient({ grantTypes: ["password", "refresh_token"], firstParty: true, scopes: ["read"], audiences: [API] });
    await call("POST", "/admin/users", { username: "carol", password: PASSWORD });
    const grant = (params: Record<string, string>) =>
      app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) }, payload: form(params) });
    const first = (await grant({ grant_type: "password", username: "carol", password: PASSWORD })).json() as { refresh_token: string };
    t.equal((await grant({ grant_type: "refresh_token", refresh_token: first.refresh_token })).statusCode, 200);
    // 2 s on: a replay, not a request concurrent with the rotation (CONCURRENT_USE_WINDOW_MS)
    clock.advance(2);
    expectOAuthError(t, await grant({ grant_type: "refresh_token", refresh_token: first.refresh_token }), 400, "invalid_grant");
    const reuse = (await auditEvents()).find((e) => e.action === "refresh_token.reuse");
    t.ok(reuse, "a refresh_token.reuse event");
    t.equal(reuse?.actor, `client:${web.clientId}`);
    t.match(reuse?.target, /^refresh_family:/);
    t.type(reuse?.details.userId, "string");
    t.notMatch(JSON.stringify(reuse), first.refresh_token, "the token itself is not in the log");
  });

  t.test("GET /admin/audit is newest first and holds admin actions, key events and client changes", async (t) => {
    const events = await auditEvents();
    t.ok(events.length > 10);
    t.same(events.map((e) => e.id), [...events.map((e) => e.id)].sort((a, b) => b - a), "ids descending");
    t.same(events.map((e) => e.at), [...events.map((e) => e.at)].sort().reverse(), "times descending");
    const actions = new Set(events.map((e) => e.action));
    for (const action of ["client.create", "client.update", "client.rotate_secret", "client.delete", "key.create", "key.retire", "user.create", "refresh_token.reuse"]) {
      t.ok(actions.has(action), action);
    }
    const byAdmin = events.filter((e) => e.actor === ACTOR).map((e) => e.action);
    t.ok(byAdmin.includes("client.create") && byAdmin.includes("key.create") && byAdmin.includes("key.retire") && byAdmin.includes("user.create"), "admin actions carry admin:<client_id>");
    t.ok(events.every((e) => !Number.isNaN(Date.parse(e.at)) && e.at.endsWith("Z")), "ISO 8601 times");
  });

  t.test("paging with limit and before walks the whole log exactly once", async (t) => {
    const all = await auditEvents(200);
    const seen: number[] = [];
    let before: number | null | undefined;
    let pages = 0;
    do {
      const res = await call("GET", `/admin/audit?limit=3${before ? `&before=${before}` : ""}`);
      t.equal(res.statusCode, 200);
      const page = res.json() as { events: AuditEvent[]; next_before: number | null };
      t.ok(page.events.length <= 3);
      seen.push(...page.events.map((e) => e.id));
      t.equal(page.next_before, page.events.length === 3 ? page.events.at(-1)!.id : null, "next_before is the last id of a full page");
      before = page.next_before;
      pages++;
    } while (before !== null && pages < 100);
    t.same(seen, all.map((e) => e.id), "every event once, newest first");
    t.ok(pages >= Math.ceil(all.length / 3));
  });

  t.test("limit is bounded; bad paging parameters are invalid_request", async (t) => {
    t.equal((await call("GET", "/admin/audit?limit=1")).json().events.length, 1);
    // More than 50 events (through the audit repository itself), so that the default limit shows.
    for (let i = (await auditEvents(200)).length; i < 55; i++) {
      await app.services.audit.record({ at: new Date(clock.now()), actor: "test", action: "test.filler", target: `filler-${i}` });
    }
    const all = await auditEvents(200);
    t.ok(all.length > 50, `${all.length} events in the log`);
    const byDefault = (await call("GET", "/admin/audit")).json() as { events: AuditEvent[]; next_before: number | null };
    t.same(byDefault.events.map((e) => e.id), all.slice(0, 50).map((e) => e.id), "50 by default: the newest 50");
    t.equal(byDefault.next_before, all[49]!.id, "and the next page starts below the 50th");
    for (const query of ["limit=abc", "limit=-1", "before=x", "limit=1&limit=2", "before=1.5"]) {
      expectOAuthError(t, await call("GET", `/admin/audit?${query}`), 400, "invalid_request");
    }
    const first = (await auditEvents(1))[0]!;
    t.same((await call("GET", `/admin/audit?before=${first.id + 1}&limit=1`)).json().events.map((e: AuditEvent) => e.id), [first.id]);
    t.same((await call("GET", "/admin/audit?before=1")).json(), { events: [], next_before: null }, "nothing before the first event");
  });

  t.test("tessera audit --json (a real CLI process) shows the same log", async (t) => {
    const env = { ...process.env, DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek!, TESSERA_ISSUER: config.issuer };
    const run = await runCli(["audit", "--json", "--limit", "200"], { env });
    t.equal(run.code, 0, run.stderr);
    const cli = JSON.parse(run.stdout) as AuditEvent[];
    t.same(cli, await auditEvents(200), "the same events, fields and order as GET /admin/audit");
  });
});
