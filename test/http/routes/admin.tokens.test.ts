// POST /admin/tokens/revoke: an administrator revokes any access token of this tessera, by the token
// or by its jti (a disabled or deleted client's too, which nobody else can), or the family of any
// refresh token; audited under "admin:<client_id>". Bad input is 400, an unknown token 404.
import t from "tap";
import { decodeJwt } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const DAY = 86400;

type Creds = { clientId: string; clientSecret: string };

const { app, config, clock, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h" });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });
const service = await createClient({ audiences: [API] });
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API] });
await app.services.users.create("alice", "alice-password-1");
const ACTOR = `admin:${admin.clientId}`;

const post = (url: string, creds: Creds, params: Record<string, string>) =>
  app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

async function tokenFor(creds: Creds, params: Record<string, string> = {}): Promise<string> {
  const res = await post("/token", creds, { grant_type: "client_credentials", ...params });
  if (res.statusCode !== 200) throw new Error(`/token answered ${res.statusCode}: ${res.body}`);
  return res.json().access_token;
}

const adminToken = await tokenFor(admin, { scope: "admin" });

const revoke = (payload: unknown, token = adminToken) =>
  app.inject({ method: "POST", url: "/admin/tokens/revoke", headers: { authorization: `Bearer ${token}` }, payload: payload as Record<string, unknown> });

const introspect = async (token: string) => (await post("/introspect", apiServer, { token })).json();
const blocklistRow = (jti: string) => app.services.db.revokedAccessToken.findUnique({ where: { jti } });
const nowSeconds = () => Math.floor(clock.now() / 1000);

async function lastAudit(action: string, target: string) {
  return (await app.services.audit.list(50)).find((e) => e.action === action && e.target === target);
}

t.test("an access token, given as the token: blocklisted until its exp, and audited", async (t) => {
  const token = await tokenFor(service);
  const { jti, exp } = decodeJwt(token) as { jti: string; exp: number };
  t.equal((await introspect(token)).active, true);
  const res = await revoke({ token });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers["cache-control"], "no-store");
  t.strictSame(res.json(), { revoked: "access_token", client_id: service.clientId, jti, expires_at: new Date(exp * 1000).toISOString() });
  t.strictSame(await introspect(token), { active: false });
  t.equal((await blocklistRow(jti))?.expiresAt.getTime(), exp * 1000, "kept until its exp");
  const event = await lastAudit("access_token.revoke", `access_token:${jti}`);
  t.equal(event?.actor, ACTOR);
  t.strictSame(event?.details, { clientId: service.clientId, exp });
  t.equal((await revoke({ token })).statusCode, 200, "revoking again is fine");
});

t.test("an access token, given as jti and exp", async (t) => {
  const token = await tokenFor(service);
  const { jti, exp } = decodeJwt(token) as { jti: string; exp: number };
  const res = await revoke({ jti, exp });
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(res.json(), { revoked: "access_token", client_id: null, jti, expires_at: new Date(exp * 1000).toISOString() });
  t.strictSame(await introspect(token), { active: false });
  t.equal((await lastAudit("access_token.revoke", `access_token:${jti}`))?.actor, ACTOR);
});

t.test("a jti without exp is blocked as long as any token of this server can live", async (t) => {
  const token = await tokenFor(service);
  const { jti } = decodeJwt(token) as { jti: string };
  const res = await revoke({ jti });
  t.equal(res.statusCode, 200, res.body);
  const latest = nowSeconds() + DAY + config.clockSkewSeconds; // the 24 h cap on token_ttl is above ACCESS_TOKEN_TTL
  t.equal(res.json().expires_at, new Date(latest * 1000).toISOString());
  t.strictSame(await introspect(token), { active: false });
});

t.test("a deleted client's tokens can be revoked, by token and by jti", async (t) => {
  const doomed = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
  const [byToken, byJti] = [await tokenFor(doomed, { scope: "admin" }), await tokenFor(doomed, { scope: "admin" })];
  await app.services.clientAdmin.delete(doomed.clientId, "test");
  const res = await revoke({ token: byToken });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().client_id, doomed.clientId);
  t.ok(await blocklistRow(decodeJwt(byToken).jti!), "on the blocklist");
  t.equal((await revoke({ jti: decodeJwt(byJti).jti })).statusCode, 200);
  t.ok(await blocklistRow(decodeJwt(byJti).jti!), "on the blocklist");
});

t.test("an admin can revoke its own token", async (t) => {
  const own = await tokenFor(admin, { scope: "admin" });
  t.equal((await revoke({ token: own }, own)).statusCode, 200);
  t.equal((await revoke({ token: own }, own)).statusCode, 401, "the next call with it is refused");
});

t.test("a refresh token: its family is revoked, and the access tokens issued from it", async (t) => {
  const signIn = await post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1" });
  const { access_token: accessToken, refresh_token: refreshToken } = signIn.json();
  const res = await revoke({ token: refreshToken });
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.revoked, "refresh_family");
  t.equal(body.client_id, web.clientId);
  t.type(body.family_id, "string");
  expectOAuthError(t, await post("/token", web, { grant_type: "refresh_token", refresh_token: refreshToken }), 400, "invalid_grant");
  t.strictSame(await introspect(accessToken), { active: false }, "its access token is blocklisted");
  t.equal((await lastAudit("refresh_token.revoke", `refresh_family:${body.family_id}`))?.actor, ACTOR);
  t.equal((await revoke({ token: refreshToken })).statusCode, 200, "revoking again is fine");
});

t.test("errors", async (t) => {
  const token = await tokenFor(service);
  const { jti, exp } = decodeJwt(token) as { jti: string; exp: number };
  const cases: [string, unknown][] = [
    ["neither token nor jti", {}],
    ["both token and jti", { token, jti }],
    ["exp with a token", { token, exp }],
    ["a jti with NUL", { jti: "abc\u0000" }],
    ["a jti with a control character", { jti: "abc\ndef" }],
    ["a jti of 257 characters", { jti: "j".repeat(257) }],
    ["an empty jti", { jti: "" }],
    ["exp later than any token of this server can live", { jti, exp: nowSeconds() + 2 * DAY }],
    ["exp beyond any date", { jti, exp: 1e20 }],
    ["a negative exp", { jti, exp: -1 }],
    ["exp as a string", { jti, exp: String(exp) }],
  ];
  for (const [name, payload] of cases) {
    t.test(`${name}: 400 invalid_request`, async (t) => expectOAuthError(t, await revoke(payload), 400, "invalid_request"));
  }
  t.test("a token that is not a live token of this server: 404", async (t) => {
    expectOAuthError(t, await revoke({ token: "not-a-token" }), 404, "invalid_request");
    clock.advance(3600);
    const fresh = await tokenFor(admin, { scope: "admin" });
    expectOAuthError(t, await revoke({ token }, fresh), 404, "invalid_request"); // expired: nothing to revoke
  });
  t.test("without an admin token: 401; with another client's token: 403", async (t) => {
    const res = await app.inject({ method: "POST", url: "/admin/tokens/revoke", payload: { jti } });
    t.equal(res.statusCode, 401);
    const serviceAdmin = await createClient({ scopes: ["read"], audiences: [config.issuer] });
    t.equal((await revoke({ jti }, await tokenFor(serviceAdmin))).statusCode, 403);
  });
});
