// CORS_ORIGINS: real preflight requests (OPTIONS with Origin and Access-Control-Request-Method) and
// cross-origin requests over HTTP, from a listed and an unlisted origin, with the exact CORS headers
// of each answer. The OAuth endpoints and documents answer listed origins without credentials; /login,
// /refresh and /logout with credentials; everything else, and every unlisted origin, gets none.
import http from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { loadConfig } from "../../src/config/load.js";
import { basic, buildTestApp, form } from "../helpers/app.js";

const APP = "https://app.example.test";
const SPA = "http://localhost:5173";
const EVIL = "https://evil.example.test";
const PASSWORD = "correct horse battery staple";

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

function request(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers: { ...headers, ...(body !== undefined && { "content-length": String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const preflight = (base: string, path: string, origin: string, method = "POST", requestHeaders?: string) =>
  request(base, "OPTIONS", path, {
    origin,
    "access-control-request-method": method,
    ...(requestHeaders !== undefined && { "access-control-request-headers": requestHeaders }),
  });

/** The CORS headers of an answer (Vary aside), by name. */
const corsHeaders = (answer: Answer) => Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name.startsWith("access-control-")));

const { app, createClient } = await buildTestApp(t, { CORS_ORIGINS: `${APP}, ${SPA}` });
const base = await app.listen({ port: 0, host: "127.0.0.1" });
const client = await createClient();
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
await app.services.users.create("alice", PASSWORD);

t.test("CORS_ORIGINS is parsed into exact origins", async (t) => {
  t.same(loadConfig({ CORS_ORIGINS: `${APP}, ${SPA}` }).corsOrigins, [APP, SPA]);
  t.same(loadConfig({}).corsOrigins, [], "none by default");
  t.same(loadConfig({ CORS_ORIGINS: " " }).corsOrigins, []);
  for (const bad of ["*", "https://app.example.test/", "https://App.example.test", "app.example.test", "https://app.example.test:443", "https://app.example.test/path", "ftp://app.example.test"]) {
    t.throws(
      () => loadConfig({ CORS_ORIGINS: `${APP},${bad}` }),
      { name: "ConfigError", message: /CORS_ORIGINS: must be exact origins such as https:\/\/app\.example\.com/ },
      JSON.stringify(bad),
    );
  }
});

t.test("preflight to /token from a listed origin: allowed, without credentials", async (t) => {
  const res = await preflight(base, "/token", APP, "POST", "authorization,content-type");
  t.equal(res.status, 204);
  t.equal(res.body, "");
  t.same(corsHeaders(res), {
    "access-control-allow-origin": APP,
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "Authorization, Content-Type, DPoP",
    "access-control-expose-headers": "Retry-After, WWW-Authenticate, DPoP-Nonce",
    "access-control-max-age": "600",
  });
  t.equal(res.headers.vary, "Origin");
  t.equal(res.headers["x-content-type-options"], "nosniff", "with the usual security headers");
  const other = await preflight(base, "/token", SPA);
  t.equal(other.headers["access-control-allow-origin"], SPA, "each listed origin is echoed as itself");
});

t.test("preflight from an unlisted origin: no CORS headers, the usual 404", async (t) => {
  for (const path of ["/token", "/revoke", "/introspect", "/login", "/refresh", "/logout", "/.well-known/jwks.json"]) {
    const res = await preflight(base, path, EVIL);
    t.equal(res.status, 404, path);
    t.same(corsHeaders(res), {}, `${path}: no access-control-* headers`);
    t.same(JSON.parse(res.body), { error: "invalid_request", error_description: "no such endpoint" });
  }
  const lookalike = await preflight(base, "/token", `${APP}.evil.test`);
  t.same(corsHeaders(lookalike), {}, "origins match exactly, not by prefix");
});

t.test("cross-origin POST /token: the listed origin may read the answer", async (t) => {
  const body = form({ grant_type: "client_credentials" });
  const headers = { "content-type": "application/x-www-form-urlencoded", authorization: basic(client.clientId, client.clientSecret) };
  const listed = await request(base, "POST", "/token", { ...headers, origin: APP }, body);
  t.equal(listed.status, 200);
  t.same(corsHeaders(listed), { "access-control-allow-origin": APP, "access-control-expose-headers": "Retry-After, WWW-Authenticate, DPoP-Nonce" });
  t.equal(listed.headers.vary, "Origin");
  const unlisted = await request(base, "POST", "/token", { ...headers, origin: EVIL }, body);
  t.equal(unlisted.status, 200, "answered: CORS only decides whether the browser lets the page read it");
  t.same(corsHeaders(unlisted), {});
  const failed = await request(base, "POST", "/token", { ...headers, authorization: basic(client.clientId, "wrong"), origin: APP }, body);
  t.equal(failed.status, 401);
  t.equal(failed.headers["access-control-allow-origin"], APP, "errors are readable too");
});

t.test("/login, /refresh and /logout: credentials for listed origins only", async (t) => {
  for (const path of ["/login", "/refresh", "/logout"]) {
    const res = await preflight(base, path, APP, "POST", "content-type");
    t.equal(res.status, 204, path);
    t.same(corsHeaders(res), {
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "Content-Type",
      "access-control-expose-headers": "Retry-After",
      "access-control-max-age": "600",
    }, path);
  }
  const payload = JSON.stringify({ username: "alice", password: PASSWORD, client_id: web.clientId });
  const login = await request(base, "POST", "/login", { "content-type": "application/json", origin: APP }, payload);
  t.equal(login.status, 200);
  t.equal(login.headers["access-control-allow-origin"], APP);
  t.equal(login.headers["access-control-allow-credentials"], "true");
  t.match(login.headers["set-cookie"], [/^refresh_token=/]);
  const unlisted = await request(base, "POST", "/login", { "content-type": "application/json", origin: EVIL }, payload);
  t.equal(unlisted.status, 200);
  t.same(corsHeaders(unlisted), {}, "no Access-Control-Allow-Credentials for an unlisted origin");
});

t.test("the JWKS and the metadata: readable with their ETag; conditional requests may be preflighted", async (t) => {
  for (const path of ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server"]) {
    const res = await request(base, "GET", path, { origin: APP });
    t.equal(res.status, 200, path);
    t.same(corsHeaders(res), { "access-control-allow-origin": APP, "access-control-expose-headers": "ETag" }, path);
    t.equal(res.headers.vary, "Origin", `${path}: caches keep one answer per origin`);
    const pre = await preflight(base, path, APP, "GET", "if-none-match");
    t.equal(pre.status, 204);
    t.same(corsHeaders(pre), {
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "GET",
      "access-control-allow-headers": "If-None-Match",
      "access-control-expose-headers": "ETag",
      "access-control-max-age": "600",
    });
  }
});

t.test("a query string does not change the endpoint's policy", async (t) => {
  const res = await request(base, "GET", "/.well-known/jwks.json?v=2", { origin: APP });
  t.equal(res.status, 200);
  t.same(corsHeaders(res), { "access-control-allow-origin": APP, "access-control-expose-headers": "ETag" });
  const pre = await preflight(base, "/token?x=1", APP);
  t.equal(pre.status, 204);
  t.equal(pre.headers["access-control-allow-origin"], APP);
  t.equal(pre.headers["access-control-allow-methods"], "POST");
});

t.test("other endpoints answer no origin, listed or not", async (t) => {
  for (const path of ["/admin/clients", "/healthz", "/openapi.json", "/nowhere"]) {
    const pre = await preflight(base, path, APP, "GET", "authorization");
    t.equal(pre.status, 404, path);
    t.same(corsHeaders(pre), {}, path);
  }
  const health = await request(base, "GET", "/healthz", { origin: APP });
  t.equal(health.status, 200);
  t.same(corsHeaders(health), {});
  const notPreflight = await request(base, "OPTIONS", "/token", { origin: APP });
  t.equal(notPreflight.status, 404, "an OPTIONS without Access-Control-Request-Method is no preflight");
  t.same(corsHeaders(notPreflight), {});
});

t.test("without CORS_ORIGINS no origin gets CORS headers", async (t) => {
  const { app: plain } = await buildTestApp(t);
  const plainBase = await plain.listen({ port: 0, host: "127.0.0.1" });
  const pre = await preflight(plainBase, "/token", APP);
  t.equal(pre.status, 404);
  t.same(corsHeaders(pre), {});
  const jwks = await request(plainBase, "GET", "/.well-known/jwks.json", { origin: APP });
  t.equal(jwks.status, 200);
  t.same(corsHeaders(jwks), {});
  t.equal(jwks.headers.vary, undefined);
});
