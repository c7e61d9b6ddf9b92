// Who may call /admin/*: only the bearer of a live access token issued by this tessera, for this
// tessera (the issuer among its audiences), with scope `admin` (RFC 6750 bearer usage). Every
// rejection is checked for status, body, Cache-Control and the Bearer challenge (RFC 6750 §3).
import { createHmac } from "node:crypto";
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { decodeJwt, generateKeyPair, SignJWT } from "jose";
import { open } from "../../../src/crypto/kek.js";
import { signJwt } from "../../../src/crypto/jwt.js";
import { importSigner } from "../../../src/crypto/keys.js";
import { basic, buildTestApp, form, type TestApp } from "../../helpers/app.js";
import { FORM } from "../../helpers/oauth.js";
import { storedSigningKeys } from "../../helpers/stored-keys.js";

const API = "https://api.example.test";

/** Every admin route, with a body that would pass validation. */
const ROUTES: Array<{ method: "GET" | "POST" | "PATCH" | "DELETE"; url: string; payload?: Record<string, unknown> }> = [
  { method: "GET", url: "/admin/clients" },
  { method: "POST", url: "/admin/clients", payload: { name: "x", grant_types: ["client_credentials"], audiences: [API] } },
  { method: "GET", url: "/admin/clients/some-id" },
  { method: "PATCH", url: "/admin/clients/some-id", payload: { name: "y" } },
  { method: "DELETE", url: "/admin/clients/some-id" },
  { method: "POST", url: "/admin/clients/some-id/secret", payload: {} },
  { method: "GET", url: "/admin/keys" },
  { method: "POST", url: "/admin/keys/rotate", payload: { now: false } },
  { method: "POST", url: "/admin/keys/some-kid/retire" },
  { method: "POST", url: "/admin/users", payload: { username: "someone", password: "a long password" } },
  { method: "GET", url: "/admin/users" },
  { method: "GET", url: "/admin/users/some-user" },
  { method: "PATCH", url: "/admin/users/some-user", payload: { enabled: false } },
  { method: "GET", url: "/admin/users/some-user/sessions" },
  { method: "DELETE", url: "/admin/users/some-user/sessions" },
  { method: "GET", url: "/admin/users/some-user/browser-sessions" },
  { method: "DELETE", url: "/admin/users/some-user/browser-sessions" },
  { method: "GET", url: "/admin/users/some-user/grants" },
  { method: "DELETE", url: "/admin/users/some-user/grants/some-client" },
  { method: "DELETE", url: "/admin/users/some-user" },
  { method: "GET", url: "/admin/audit" },
  { method: "POST", url: "/admin/tokens/revoke", payload: { jti: "some-jti" } },
];

type Creds = { clientId: string; clientSecret: string };

async function tokenFor(app: TestApp["app"], creds: Creds, params: Record<string, string> = {}): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "client_credentials", ...params }),
  });
  if (res.statusCode !== 200) throw new Error(`/token answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { access_token: string }).access_token;
}

const listClients = (app: TestApp["app"], authorization?: string) =>
  app.inject({ method: "GET", url: "/admin/clients", headers: authorization === undefined ? {} : { authorization } });

/** The shape of an RFC 6750 §3 error: status, OAuth-style body, no-store, and the Bearer challenge. */
function expectBearerError(t: Test, res: LightMyRequestResponse, status: number, error: string): void {
  t.equal(res.statusCode, status, "status");
  t.equal(res.headers["cache-control"], "no-store", "cache-control: no-store");
  t.match(res.headers["content-type"], /^application\/json/);
  const body = res.json() as Record<string, unknown>;
  t.equal(body.error, error, "error code");
  t.same(Object.keys(body).filter((k) => k !== "error" && k !== "error_description"), [], "only error and error_description");
  const challenge = String(res.headers["www-authenticate"] ?? "");
  t.match(challenge, /^Bearer( |$)/, "WWW-Authenticate: Bearer challenge");
  t.match(challenge, new RegExp(`error="${error}"`), `the challenge names ${error}`);
}

const { app, config, clock, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h" });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const adminToken = await tokenFor(app, admin, { scope: "admin" });

t.test("a valid admin token is accepted on every admin route", async (t) => {
  const authorization = `Bearer ${adminToken}`;
  const call = (route: (typeof ROUTES)[number]) => app.inject({ ...route, headers: { authorization } });
  // Each route of ROUTES, in an order that makes each succeed: the client and the key it acts on
  // are made first, with real ids in place of some-id and some-kid.
  const template = (method: string, url: string) =>
    `${method} ${url
      .replace(/^(\/admin\/clients\/)[^/]+/, "$1some-id")
      .replace(/^(\/admin\/keys\/)(?!rotate$)[^/]+/, "$1some-kid")
      .replace(/^(\/admin\/users\/)[^/]+/, "$1some-user")
      .replace(/(\/grants\/)[^/]+$/, "$1some-client")}`;
  const seen: string[] = [];
  const expect = async (route: (typeof ROUTES)[number], status: number) => {
    const res = await call(route);
    seen.push(template(route.method, route.url));
    t.equal(res.statusCode, status, `${route.method} ${route.url}: ${status}`);
    t.equal(res.headers["cache-control"], "no-store", `${route.method} ${route.url}: never cached`);
    return res;
  };
  const byTemplate = (key: string) => ROUTES.find((r) => template(r.method, r.url) === key)!;
  const at = (key: string, path: string) => ({ ...byTemplate(key), url: path });

  await expect(byTemplate("GET /admin/clients"), 200);
  const created = await expect(byTemplate("POST /admin/clients"), 201);
  const id = (created.json() as { client_id: string }).client_id;
  await expect(at("GET /admin/clients/some-id", `/admin/clients/${id}`), 200);
  await expect(at("PATCH /admin/clients/some-id", `/admin/clients/${id}`), 200);
  await expect(at("POST /admin/clients/some-id/secret", `/admin/clients/${id}/secret`), 200);
  await expect(at("DELETE /admin/clients/some-id", `/admin/clients/${id}`), 204);
  await expect(byTemplate("GET /admin/keys"), 200);
  const rotated = await expect(byTemplate("POST /admin/keys/rotate"), 201);
  const kid = (rotated.json() as { kid: string }).kid;
  await expect(at("POST /admin/keys/some-kid/retire", `/admin/keys/${kid}/retire`), 200);
  const user = (await expect(byTemplate("POST /admin/users"), 201)).json() as { id: string };
  await expect(byTemplate("GET /admin/users"), 200);
  await expect(at("GET /admin/users/some-user", `/admin/users/${user.id}`), 200);
  await expect(at("PATCH /admin/users/some-user", `/admin/users/${user.id}`), 200);
  await expect(at("GET /admin/users/some-user/sessions", `/admin/users/${user.id}/sessions`), 200);
  await expect(at("DELETE /admin/users/some-user/sessions", `/admin/users/${user.id}/sessions`), 200);
  await expect(at("GET /admin/users/some-user/browser-sessions", `/admin/users/${user.id}/browser-sessions`), 200);
  await expect(at("DELETE /admin/users/some-user/browser-sessions", `/admin/users/${user.id}/browser-sessions`), 200);
  // A remembered consent to revoke, as /authorize records it.
  const codeClient = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://app.example.test/cb"], audiences: [API] });
  await app.services.grants.recordConsent({ userId: user.id, clientId: codeClient.clientId, scope: [], audience: [API] });
  await expect(at("GET /admin/users/some-user/grants", `/admin/users/${user.id}/grants`), 200);
  await expect(at("DELETE /admin/users/some-user/grants/some-client", `/admin/users/${user.id}/grants/${codeClient.clientId}`), 200);
  await expect(at("DELETE /admin/users/some-user", `/admin/users/${user.id}`), 204);
  await expect(byTemplate("GET /admin/audit"), 200);
  // A token of another client, so that the admin token used here stays live.
  const other = await createClient({ scopes: ["read"], audiences: [API] });
  const { jti } = decodeJwt(await tokenFor(app, other));
  await expect({ ...byTemplate("POST /admin/tokens/revoke"), payload: { jti } }, 200);
  t.same(seen.sort(), ROUTES.map((r) => template(r.method, r.url)).sort(), "every admin route was called once");
});

t.test("the auth scheme is case-insensitive (RFC 9110 §11.1)", async (t) => {
  t.equal((await listClients(app, `bearer ${adminToken}`)).statusCode, 200);
  t.equal((await listClients(app, `BEARER ${adminToken}`)).statusCode, 200);
});

t.test("no Authorization header", async (t) => {
  t.test("every admin route answers 401 with a Bearer challenge", async (t) => {
    for (const route of ROUTES) {
      const res = await app.inject(route);
      t.equal(res.statusCode, 401, `${route.method} ${route.url}`);
      t.match(res.headers["www-authenticate"], /^Bearer( |$)/, `${route.method} ${route.url}: Bearer challenge`);
      t.equal(res.headers["cache-control"], "no-store");
    }
  });

  t.test("the challenge carries no error code (RFC 6750 §3.1: the request had no credentials)", async (t) => {
    const res = await listClients(app);
    t.equal(res.statusCode, 401);
    t.match(res.headers["www-authenticate"], /^Bearer realm="tessera"/);
    t.notMatch(res.headers["www-authenticate"], /error=/, "no error attribute when no token was sent");
  });

  t.test("authentication comes before body validation: an anonymous caller learns nothing about the schema", async (t) => {
    const res = await app.inject({ method: "POST", url: "/admin/clients", payload: { unexpected: true } });
    t.equal(res.statusCode, 401, "401, not a 400 that describes the body");
    t.match(res.headers["www-authenticate"], /^Bearer( |$)/);
    const wrongType = await app.inject({ method: "POST", url: "/admin/keys/rotate", headers: { "content-type": "text/plain" }, payload: "now" });
    t.equal(wrongType.statusCode, 401, "nor about the media types it takes");
  });
});

t.test("another scheme (Basic with the admin client's own credentials) gets a Bearer challenge (RFC 6750 §3)", async (t) => {
  const res = await listClients(app, basic(admin.clientId, admin.clientSecret));
  t.equal(res.statusCode, 401);
  t.match(res.headers["www-authenticate"], /^Bearer realm="tessera"/);
  t.notMatch(res.headers["www-authenticate"], /error=/, "an unsupported method counts as no credentials (RFC 6750 §3.1)");
  t.equal(res.headers["cache-control"], "no-store");
});

t.test("a malformed Bearer header is invalid_request with a Bearer challenge (RFC 6750 §3, §3.1)", async (t) => {
  for (const header of [`Bearer ${adminToken} extra`, "Bearer a,b", `Bearer "${adminToken}"`]) {
    t.test(JSON.stringify(header.length > 40 ? `${header.slice(0, 20)}…${header.slice(-10)}` : header), async (t) => {
      expectBearerError(t, await listClients(app, header), 400, "invalid_request");
    });
  }
});

t.test("invalid_token", async (t) => {
  const [stored] = await storedSigningKeys(config.databaseUrl);
  const realKid = stored!.kid;
  // The server's own private key, opened with the KEK: lets a test make tokens that differ from a
  // real admin token in one claim only, so each rejection is pinned to that claim.
  const realSigner = await importSigner(realKid, "RS256", open(Buffer.from(config.kek!, "base64"), stored!.privateKey, realKid));
  const now = Math.floor(clock.now() / 1000);
  const claims = { iss: config.issuer, sub: admin.clientId, aud: config.issuer, client_id: admin.clientId, scope: "admin", iat: now, exp: now + 600, jti: "forged-1" };
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

  t.test("control: the same claims signed by the server's key with typ at+jwt are accepted", async (t) => {
    const genuine = await signJwt(realSigner, "at+jwt", claims);
    t.equal((await listClients(app, `Bearer ${genuine}`)).statusCode, 200);
  });

  const cases: Array<[string, () => Promise<string>]> = [
    ["signed with another key under tessera's kid", async () => {
      const { privateKey } = await generateKeyPair("RS256");
      return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: realKid }).sign(privateKey);
    }],
    ["signed with another key under its own kid", async () => {
      const { privateKey } = await generateKeyPair("ES256");
      return new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "attacker" }).sign(privateKey);
    }],
    ["alg none, no signature", async () => `${b64({ alg: "none", typ: "at+jwt", kid: realKid })}.${b64(claims)}.`],
    ["alg none, with a signature copied from a real token", async () => {
      const signature = adminToken.split(".")[2];
      return `${b64({ alg: "none", typ: "at+jwt", kid: realKid })}.${b64(claims)}.${signature}`;
    }],
    ["HS256 keyed with the published JWKS (key confusion)", async () => {
      const input = `${b64({ alg: "HS256", typ: "at+jwt", kid: realKid })}.${b64(claims)}`;
      const jwks = (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body;
      return `${input}.${createHmac("sha256", jwks).update(input).digest("base64url")}`;
    }],
    ["a real token with its payload swapped for one with more scope", async () => {
      const [header, , signature] = adminToken.split(".");
      return `${header}.${b64({ ...claims, scope: "admin read write" })}.${signature}`;
    }],
    ["the server's key, but typ JWT", () => signJwt(realSigner, "JWT", claims)],
    ["the server's key, but another issuer", () => signJwt(realSigner, "at+jwt", { ...claims, iss: "https://evil.test" })],
    ["the server's key, but without jti", () => signJwt(realSigner, "at+jwt", { ...claims, jti: undefined })],
    ["garbage", async () => "not-a-jwt"],
  ];
  for (const [name, make] of cases) {
    t.test(name, async (t) => {
      expectBearerError(t, await listClients(app, `Bearer ${await make()}`), 401, "invalid_token");
    });
  }

  t.test("a token from another tessera with the same issuer name (other keys)", async (t) => {
    const other = await buildTestApp(t, { CACHE_REFRESH: "1h" });
    const otherAdmin = await other.createClient({ scopes: ["admin"], audiences: [other.config.issuer] });
    const foreign = await tokenFor(other.app, otherAdmin, { scope: "admin" });
    t.equal((await listClients(other.app, `Bearer ${foreign}`)).statusCode, 200, "it is an admin token there");
    expectBearerError(t, await listClients(app, `Bearer ${foreign}`), 401, "invalid_token");
  });

  t.test("a token for another audience, even with scope admin", async (t) => {
    const elsewhere = await createClient({ scopes: ["admin"], audiences: [API] });
    expectBearerError(t, await listClients(app, `Bearer ${await tokenFor(app, elsewhere, { scope: "admin" })}`), 401, "invalid_token");

    const both = await createClient({ scopes: ["admin"], audiences: [API, config.issuer] });
    const forApi = await tokenFor(app, both, { scope: "admin", audience: API });
    expectBearerError(t, await listClients(app, `Bearer ${forApi}`), 401, "invalid_token");
    const forUs = await tokenFor(app, both, { scope: "admin", audience: config.issuer });
    t.equal((await listClients(app, `Bearer ${forUs}`)).statusCode, 200, "the same client's token for the issuer works");
  });

  t.test("a revoked (blocklisted) admin token", async (t) => {
    const token = await tokenFor(app, admin, { scope: "admin" });
    t.equal((await listClients(app, `Bearer ${token}`)).statusCode, 200);
    const revoked = await app.inject({
      method: "POST",
      url: "/revoke",
      headers: { ...FORM, authorization: basic(admin.clientId, admin.clientSecret) },
      payload: form({ token }),
    });
    t.equal(revoked.statusCode, 200);
    expectBearerError(t, await listClients(app, `Bearer ${token}`), 401, "invalid_token");
    t.equal((await listClients(app, `Bearer ${adminToken}`)).statusCode, 200, "other admin tokens are unaffected");
  });

  t.test("an expired admin token", async (t) => {
    // Its own app: the clock moves.
    const timed = await buildTestApp(t, { CACHE_REFRESH: "1h" });
    const creds = await timed.createClient({ scopes: ["admin"], audiences: [timed.config.issuer] });
    const token = await tokenFor(timed.app, creds, { scope: "admin" });
    timed.clock.advance(timed.config.accessTokenTtlSeconds - 1);
    t.equal((await listClients(timed.app, `Bearer ${token}`)).statusCode, 200, "one second before exp");
    timed.clock.advance(1);
    expectBearerError(t, await listClients(timed.app, `Bearer ${token}`), 401, "invalid_token");
  });

  t.test("a refresh token is not an access token", async (t) => {
    const web = await createClient({ scopes: ["admin"], audiences: [config.issuer], firstParty: true, grantTypes: ["password", "refresh_token"] });
    await app.services.users.create("root", "correct horse battery staple");
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "password", username: "root", password: "correct horse battery staple", scope: "admin" }),
    });
    t.equal(res.statusCode, 200, res.body);
    const { refresh_token: refreshToken } = res.json() as { refresh_token: string };
    t.type(refreshToken, "string");
    expectBearerError(t, await listClients(app, `Bearer ${refreshToken}`), 401, "invalid_token");
  });
});

t.test("a token of this tessera without scope admin is 403 insufficient_scope", async (t) => {
  const reader = await createClient({ scopes: ["read", "write"], audiences: [config.issuer] });
  const token = await tokenFor(app, reader);
  for (const route of ROUTES) {
    const res = await app.inject({ ...route, headers: { authorization: `Bearer ${token}` } });
    t.equal(res.statusCode, 403, `${route.method} ${route.url}`);
  }
  const res = await listClients(app, `Bearer ${token}`);
  expectBearerError(t, res, 403, "insufficient_scope");
  t.match(res.headers["www-authenticate"], /scope="admin"/, "the challenge names the scope needed (RFC 6750 §3)");

  t.test("an admin client's token that was narrowed to another scope", async (t) => {
    const mixed = await createClient({ scopes: ["admin", "read"], audiences: [config.issuer] });
    expectBearerError(t, await listClients(app, `Bearer ${await tokenFor(app, mixed, { scope: "read" })}`), 403, "insufficient_scope");
    t.equal((await listClients(app, `Bearer ${await tokenFor(app, mixed, { scope: "admin read" })}`)).statusCode, 200, "admin among others is enough");
  });
});

t.test("rejected admin requests change nothing", async (t) => {
  const reader = await createClient({ scopes: ["read"], audiences: [config.issuer] });
  const before = (await app.services.keyAdmin.summaries()).length;
  const clientsBefore = (await app.services.clientAdmin.list()).length;
  const auditBefore = (await app.services.audit.list(1))[0]?.id;
  for (const authorization of [undefined, `Bearer ${await tokenFor(app, reader)}`, "Bearer forged.token.here"]) {
    await app.inject({ method: "POST", url: "/admin/keys/rotate", headers: authorization ? { authorization } : {}, payload: { now: true } });
    await app.inject({ method: "POST", url: "/admin/clients", headers: authorization ? { authorization } : {}, payload: ROUTES[1]!.payload });
  }
  t.equal((await app.services.keyAdmin.summaries()).length, before, "no key was made");
  t.equal((await app.services.clientAdmin.list()).length, clientsBefore, "no client was made");
  t.equal((await app.services.audit.list(1))[0]?.id, auditBefore, "nothing was audited as done");
});
