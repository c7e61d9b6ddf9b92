// Tokens do not outlive their client: a disabled or deleted client's access tokens read inactive at
// /introspect and are refused at /admin at once on this instance, and on another instance as soon as
// its client registry reloads (within CACHE_REFRESH); an admin token whose client lost scope admin, or
// the issuer as audience, is refused at /admin.
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form, type TestApp } from "../../helpers/app.js";
import { FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";

type Creds = { clientId: string; clientSecret: string };

const first = await buildTestApp(t, { CACHE_REFRESH: "1h" });
const { app, config, createClient } = first;
// A second instance on the same database; its registry reloads only when the test says so.
const second = await buildTestApp(t, { CACHE_REFRESH: "1h", DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek! }, first.clock);

// Resource servers that may introspect tokens for the issuer (admin tokens) and for API.
const issuerServer = await createClient({ canIntrospect: true, audiences: [config.issuer] });
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });
await second.app.services.clients.refresh();

async function tokenFor(target: TestApp["app"], creds: Creds, params: Record<string, string> = {}): Promise<string> {
  const res = await target.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "client_credentials", ...params }),
  });
  if (res.statusCode !== 200) throw new Error(`/token answered ${res.statusCode}: ${res.body}`);
  return res.json().access_token;
}

const listClients = (target: TestApp["app"], token: string) =>
  target.inject({ method: "GET", url: "/admin/clients", headers: { authorization: `Bearer ${token}` } });

async function introspect(target: TestApp["app"], server: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await target.inject({ method: "POST", url: "/introspect", headers: { ...FORM, authorization: basic(server.clientId, server.clientSecret) }, payload: form({ token }) });
  if (res.statusCode !== 200) throw new Error(`/introspect answered ${res.statusCode}: ${res.body}`);
  return res.json();
}

function expectRefused(t: Test, res: LightMyRequestResponse, status: number, error: string): void {
  t.equal(res.statusCode, status, "status");
  t.equal(res.json().error, error, "error code");
  t.match(res.headers["www-authenticate"], new RegExp(`^Bearer .*error="${error}"`), "Bearer challenge naming the error");
}

const newAdmin = () => createClient({ scopes: ["admin"], audiences: [config.issuer] });

t.test("disabling the admin client ends its tokens at /admin and /introspect at once", async (t) => {
  const admin = await newAdmin();
  const token = await tokenFor(app, admin, { scope: "admin" });
  t.equal((await listClients(app, token)).statusCode, 200, "works before");
  t.equal((await introspect(app, issuerServer, token)).active, true, "active before");

  await app.services.clientAdmin.disable(admin.clientId, "test");
  expectRefused(t, await listClients(app, token), 401, "invalid_token");
  t.strictSame(await introspect(app, issuerServer, token), { active: false });
});

t.test("an admin token cannot outlive a disable made with itself", async (t) => {
  const admin = await newAdmin();
  const token = await tokenFor(app, admin, { scope: "admin" });
  const res = await app.inject({ method: "PATCH", url: `/admin/clients/${admin.clientId}`, headers: { authorization: `Bearer ${token}` }, payload: { enabled: false } });
  t.equal(res.statusCode, 200);
  expectRefused(t, await listClients(app, token), 401, "invalid_token");
});

t.test("deleting the admin client ends its tokens at /admin and /introspect at once", async (t) => {
  const admin = await newAdmin();
  const token = await tokenFor(app, admin, { scope: "admin" });
  t.equal((await listClients(app, token)).statusCode, 200, "works before");
  await app.services.clientAdmin.delete(admin.clientId, "test");
  expectRefused(t, await listClients(app, token), 401, "invalid_token");
  t.strictSame(await introspect(app, issuerServer, token), { active: false });
});

t.test("removing scope admin from the client ends its admin tokens at /admin: 403 insufficient_scope", async (t) => {
  const admin = await createClient({ scopes: ["admin", "read"], audiences: [config.issuer] });
  const token = await tokenFor(app, admin, { scope: "admin" });
  t.equal((await listClients(app, token)).statusCode, 200, "works before");
  await app.services.clientAdmin.update(admin.clientId, { scopes: ["read"] }, "test");
  expectRefused(t, await listClients(app, token), 403, "insufficient_scope");
});

t.test("removing the issuer from the client's audiences ends its admin tokens at /admin: 401 invalid_token", async (t) => {
  const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer, API] });
  const token = await tokenFor(app, admin, { scope: "admin", audience: config.issuer });
  t.equal((await listClients(app, token)).statusCode, 200, "works before");
  await app.services.clientAdmin.update(admin.clientId, { audiences: [API] }, "test");
  expectRefused(t, await listClients(app, token), 401, "invalid_token");
});

t.test("any client's access tokens: inactive at /introspect once it is disabled or deleted", async (t) => {
  const disabled = await createClient({ audiences: [API] });
  const deleted = await createClient({ audiences: [API] });
  const kept = await createClient({ audiences: [API] });
  const tokens = { disabled: await tokenFor(app, disabled), deleted: await tokenFor(app, deleted), kept: await tokenFor(app, kept) };
  for (const token of Object.values(tokens)) t.equal((await introspect(app, apiServer, token)).active, true);
  await app.services.clientAdmin.disable(disabled.clientId, "test");
  await app.services.clientAdmin.delete(deleted.clientId, "test");
  t.strictSame(await introspect(app, apiServer, tokens.disabled), { active: false }, "disabled client");
  t.strictSame(await introspect(app, apiServer, tokens.deleted), { active: false }, "deleted client");
  t.equal((await introspect(app, apiServer, tokens.kept)).active, true, "another client's token is untouched");
});

t.test("on another instance: refused once its registry reloads (within CACHE_REFRESH)", async (t) => {
  const admin = await newAdmin();
  const service = await createClient({ audiences: [API] });
  await second.app.services.clients.refresh();
  const adminToken = await tokenFor(app, admin, { scope: "admin" });
  const serviceToken = await tokenFor(app, service);
  t.equal((await listClients(second.app, adminToken)).statusCode, 200, "works there before");
  t.equal((await introspect(second.app, apiServer, serviceToken)).active, true);

  await app.services.clientAdmin.disable(admin.clientId, "test");
  await app.services.clientAdmin.delete(service.clientId, "test");
  await second.app.services.clients.refresh(); // what its poller does every CACHE_REFRESH seconds
  expectRefused(t, await listClients(second.app, adminToken), 401, "invalid_token");
  t.strictSame(await introspect(second.app, apiServer, serviceToken), { active: false });
});
