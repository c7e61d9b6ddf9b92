// The admin API with a valid admin token: clients, keys, users and the audit log, each change
// checked by its effect (the client gets tokens, the key signs, the user signs in) and by its audit
// entry under "admin:<client_id>". Who may call it is admin.auth.test.ts.
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { decodeProtectedHeader } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { runCli } from "../../helpers/cli.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const OTHER = "https://other.example.test";
const SECRET = /^[A-Za-z0-9_-]{43,}$/; // base64url of at least 32 bytes
const PASSWORD = "correct horse battery staple";

type Json = Record<string, unknown>;
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
    const res = await call("POST", "/admin/clients", { name: "Acme", grant_types: ["client_credentials"], audiences: [API, OTHER], scope: "read write", token_ttl: 600 });
    t.equal(res.statusCode, 201);
    t.equal(res.headers["cache-control"], "no-store");
    created = res.json();
    t.match(created, {
      name: "Acme",
      grant_types: ["client_credentials"],
      scope: "read write",
      audiences: [API, OTHER],
      token_ttl: 600,
      first_party: false,
      introspect: false,
      enabled: true,
      previous_secret_expires_at: null,
    });
    t.match(created.client_secret, SECRET, "a server-generated secret of at least 256 bits, shown once");
    t.match(created.client_id, /^[A-Za-z0-9_-]{16,}$/);
    t.not(created.client_secret, created.client_id);

    const token = await tokenResponse(created.client_id, created.client_secret, { scope: "read" });
    t.equal(token.statusCode, 200, "the new client gets a token without waiting for a reload");
    t.equal(token.json().expires_in, 600, "with its token lifetime");

    t.match(await lastAudit("client.create", `client:${created.client_id}`), { actor: ACTOR, details: { name: "Acme" } });
  });

  t.test("GET /admin/clients lists every client without secrets", async (t) => {
    const res = await call("GET", "/admin/clients");
    t.equal(res.statusCode, 200);
    const ids = (res.json() as { clients: Json[] }).clients.map((c) => c.client_id);
    t.ok(ids.includes(admin.clientId) && ids.includes(created.client_id));
    noSecrets(t, res.body, "client list");
    t.notMatch(res.body, created.client_secret, "the secret is not shown again");
  });

  t.test("GET /admin/clients/:id", async (t) => {
    const res = await call("GET", `/admin/clients/${created.client_id}`);
    t.equal(res.statusCode, 200);
    const { client_secret: _secret, ...withoutSecret } = created;
    t.same(res.json(), withoutSecret, "the same fields as at creation, minus the secret");
    noSecrets(t, res.body, "client");
    expectOAuthError(t, await call("GET", "/admin/clients/no-such-client"), 404, "invalid_request");
  });

  t.test("POST /admin/clients rejects bad input with invalid_request", async (t) => {
    const bad: Array<[string, Json | string, Record<string, string>?]> = [
      ["no name", { grant_types: ["client_credentials"], audiences: [API] }],
      ["no audience", { name: "x", grant_types: ["client_credentials"], audiences: [] }],
      ["an audience that is not a URI", { name: "x", grant_types: ["client_credentials"], audiences: ["api"] }],
      ["an unknown grant type", { name: "x", grant_types: ["authorization_code"], audiences: [API] }],
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
    const res = await call("PATCH", `/admin/clients/${created.client_id}`, { name: "Acme Corp", scope: "read", token_ttl: 120 });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { client_id: created.client_id, name: "Acme Corp", scope: "read", token_ttl: 120, audiences: [API, OTHER] });
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
    t.same(Object.keys(user).sort(), ["created_at", "enabled", "id", "username"], "no password or hash in the answer");
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
