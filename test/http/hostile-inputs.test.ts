// Hostile inputs, case by case: bodies over BODY_LIMIT, deeply nested and very wide JSON, forms with
// thousands of parameters, oversized headers and malformed HTTP over a real socket, wrong content
// types, characters the databases treat specially, malformed URLs, and the security headers. Bad
// input never yields a 5xx (SPEC) and every error is an RFC 6749 §5.2 body; after each hostile
// request the server still serves a valid one.
import net from "node:net";
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form, type TestApp } from "../helpers/app.js";
import { expectOAuthError, FORM, type ErrorAnswer } from "../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const CSP_NONE = /(?:^|;)\s*default-src 'none'\s*(?:;|$)/;
const API = "https://api.example.test";
const JSON_TYPE = { "content-type": "application/json" };
const USERNAME = "alice";
const PASSWORD = "alice-password-1";

type Fixture = {
  server: TestApp;
  auth: string;
  adminAuth: string;
  webClientId: string;
  inject: TestApp["app"]["inject"];
};

/** An app with a third-party client, an admin client (and its bearer token), a first-party client and a user. */
async function fixture(t: Test, env: Record<string, string> = {}): Promise<Fixture> {
  const server = await buildTestApp(t, env);
  const client = await server.createClient({ scopes: ["read"], audiences: [API] });
  const admin = await server.createClient({ scopes: ["admin"], audiences: [server.config.issuer] });
  const web = await server.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], scopes: ["read"], audiences: [API] });
  await server.app.services.users.create(USERNAME, PASSWORD);
  const auth = basic(client.clientId, client.clientSecret);
  const res = await server.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(admin.clientId, admin.clientSecret) }, payload: form({ grant_type: "client_credentials" }) });
  if (res.statusCode !== 200) throw new Error(`setup: admin token request answered ${res.statusCode} ${res.body}`);
  return { server, auth, adminAuth: `Bearer ${res.json().access_token}`, webClientId: web.clientId, inject: server.app.inject.bind(server.app) };
}

/** The server still answers /healthz and still issues a token. */
async function assertAlive(t: Test, f: Fixture): Promise<void> {
  const health = await f.inject({ method: "GET", url: "/healthz" });
  t.equal(health.statusCode, 200, "afterwards /healthz answers 200");
  const token = await f.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: f.auth }, payload: form({ grant_type: "client_credentials" }) });
  t.equal(token.statusCode, 200, "afterwards a valid token request is served");
}

const f = await fixture(t);

const postToken = (target: Fixture, payload: string, headers: Record<string, string> = {}) =>
  target.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: target.auth, ...headers }, payload });
const login = (target: Fixture, payload: string) => target.inject({ method: "POST", url: "/login", headers: JSON_TYPE, payload });
const createClientRequest = (target: Fixture, payload: string) =>
  target.inject({ method: "POST", url: "/admin/clients", headers: { ...JSON_TYPE, authorization: target.adminAuth }, payload });

t.test("a body over BODY_LIMIT (2048 bytes) answers 413 invalid_request", async (t) => {
  const small = await fixture(t, { BODY_LIMIT: "2048" });
  const padding = "x".repeat(3000);

  t.test("POST /token", async (t) => {
    expectOAuthError(t, await postToken(small, form({ grant_type: "client_credentials", scope: padding })), 413, "invalid_request");
    t.equal((await postToken(small, form({ grant_type: "client_credentials", foo: "x".repeat(1500) }))).statusCode, 200, "a body under the limit is served");
  });

  t.test("POST /login", async (t) => {
    expectOAuthError(t, await login(small, JSON.stringify({ username: USERNAME, password: padding, client_id: small.webClientId })), 413, "invalid_request");
    const within = await login(small, JSON.stringify({ username: USERNAME, password: PASSWORD, client_id: small.webClientId }));
    t.equal(within.statusCode, 200, "a sign-in under the limit is served");
  });

  t.test("POST /admin/clients (without an admin token: 401, the body is not read)", async (t) => {
    const body = JSON.stringify({ name: padding, grant_types: ["client_credentials"], audiences: [API] });
    expectOAuthError(t, await createClientRequest(small, body), 413, "invalid_request");
    const anonymous = await small.inject({ method: "POST", url: "/admin/clients", headers: JSON_TYPE, payload: body });
    t.equal(anonymous.statusCode, 401, "no token: 401 before the body is read");
    t.equal(anonymous.json().error, "invalid_token");
    t.match(anonymous.headers["www-authenticate"], /^Bearer /, "with a Bearer challenge (RFC 6750 §3)");
    const within = await createClientRequest(small, JSON.stringify({ name: "acme", grant_types: ["client_credentials"], audiences: [API] }));
    t.equal(within.statusCode, 201, "a registration under the limit is served");
  });

  t.test("a chunked body (no Content-Length) that grows over the limit, over a real socket", async (t) => {
    const { port } = await listen(t, small.server);
    const chunk = form({ grant_type: "client_credentials", scope: padding });
    const res = await raw(
      port,
      `POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: ${small.auth}\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    expectOAuthError(t, res, 413, "invalid_request");
  });

  await assertAlive(t, small);
});

t.test("JSON nested 10,000 levels deep answers 400 invalid_request", async (t) => {
  const depth = 10_000;
  const nested: [string, string][] = [
    ["arrays", "[".repeat(depth) + "]".repeat(depth)],
    ["objects", '{"a":'.repeat(depth) + "1" + "}".repeat(depth)],
    ["objects under a known member", '{"username":' + '{"a":'.repeat(depth - 1) + "1" + "}".repeat(depth)],
    ["objects ending in __proto__", '{"a":'.repeat(depth) + '{"__proto__":{"admin":true}}' + "}".repeat(depth)],
  ];
  for (const [name, payload] of nested) {
    t.test(`${name} (${payload.length} bytes)`, async (t) => {
      expectOAuthError(t, await login(f, payload), 400, "invalid_request");
      expectOAuthError(t, await createClientRequest(f, payload), 400, "invalid_request");
      expectOAuthError(t, await f.inject({ method: "POST", url: "/refresh", headers: JSON_TYPE, payload }), 400, "invalid_request");
      t.equal(({} as Record<string, unknown>).admin, undefined, "Object.prototype untouched");
      await assertAlive(t, f);
    });
  }
});

t.test("very large JSON and form bodies", async (t) => {
  // BODY_LIMIT raised to 4 MiB, so that these reach the parsers instead of stopping at the limit.
  const big = await fixture(t, { BODY_LIMIT: String(4 * 1024 * 1024) });

  t.test("a JSON object with 100,000 keys: 413 under the default limit, 400 when it is parsed", async (t) => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(",");
    const payload = `{${keys}}`;
    expectOAuthError(t, await login(f, payload), 413, "invalid_request");
    expectOAuthError(t, await login(big, payload), 400, "invalid_request");
    expectOAuthError(t, await createClientRequest(big, payload), 400, "invalid_request");
    // The same keys around a valid sign-in: unknown members are dropped, the sign-in goes through.
    const withSignIn = `{${keys},"username":"${USERNAME}","password":"${PASSWORD}","client_id":"${big.webClientId}"}`;
    t.equal((await login(big, withSignIn)).statusCode, 200, "a valid sign-in among 100,000 unknown members is served");
    await assertAlive(t, big);
  });

  t.test("JSON nested 100,000 levels deep", async (t) => {
    const payload = "[".repeat(100_000) + "]".repeat(100_000);
    expectOAuthError(t, await login(big, payload), 400, "invalid_request");
    expectOAuthError(t, await createClientRequest(big, payload), 400, "invalid_request");
    await assertAlive(t, big);
  });

  t.test("a JSON array of 150,000 members where the schema wants at most 8", async (t) => {
    const payload = JSON.stringify({ name: "acme", grant_types: Array.from({ length: 150_000 }, () => "client_credentials"), audiences: [API] });
    t.ok(payload.length < big.server.config.bodyLimitBytes, "within BODY_LIMIT");
    expectOAuthError(t, await createClientRequest(big, payload), 400, "invalid_request");
    await assertAlive(t, big);
  });

  t.test("a form with 10,000 unknown parameters around a valid request is served (RFC 6749 §3.2: ignored)", async (t) => {
    const unknown = Array.from({ length: 10_000 }, (_, i) => `p${i}=${i}`).join("&");
    const res = await postToken(big, `grant_type=client_credentials&${unknown}`);
    t.equal(res.statusCode, 200, `200 (${res.body.slice(0, 200)})`);
  });

  t.test("a form with 10,000 parameters named __proto__ and constructor is served and pollutes nothing", async (t) => {
    const hostile = Array.from({ length: 5_000 }, (_, i) => `__proto__=${i}&constructor=${i}&__proto__[admin]=1`).join("&");
    const res = await postToken(big, `grant_type=client_credentials&${hostile}`);
    t.equal(res.statusCode, 200, `200 (${res.body.slice(0, 200)})`);
    t.equal(({} as Record<string, unknown>).admin, undefined, "Object.prototype untouched");
  });

  t.test("grant_type given 10,000 times answers 400 invalid_request (RFC 6749 §3.1)", async (t) => {
    const payload = Array.from({ length: 10_000 }, () => "grant_type=client_credentials").join("&");
    expectOAuthError(t, await postToken(big, payload), 400, "invalid_request");
  });

  t.test("resource given 10,000 times answers 400 invalid_request", async (t) => {
    const payload = `grant_type=client_credentials&${Array.from({ length: 10_000 }, () => `resource=${encodeURIComponent(API)}`).join("&")}`;
    expectOAuthError(t, await postToken(big, payload), 400, "invalid_request");
  });

  t.test("10,000 parameters under the default limit: answered, never 5xx", async (t) => {
    const payload = `grant_type=client_credentials&${Array.from({ length: 10_000 }, () => "a=1").join("&")}`;
    t.ok(payload.length < f.server.config.bodyLimitBytes, "within BODY_LIMIT");
    const res = await postToken(f, payload);
    t.equal(res.statusCode, 200, `the repeated unknown parameter is ignored (${res.body.slice(0, 200)})`);
    await assertAlive(t, f);
  });
});

/** Listens on a free loopback port, closed with the test. */
async function listen(t: Test, server: TestApp): Promise<net.AddressInfo> {
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  return server.app.server.address() as net.AddressInfo;
}

/**
 * Sends raw bytes and reads the whole answer. The server may answer and close before it has read
 * everything (an oversized header): a reset after the answer arrived is fine.
 */
function raw(port: number, request: string | Buffer): Promise<ErrorAnswer & { text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let failure: Error | undefined;
    const socket = net.connect(port, "127.0.0.1", () => socket.end(request));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (error) => (failure = error));
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      if (text === "") return reject(failure ?? new Error("the server closed the connection without an answer"));
      const split = text.indexOf("\r\n\r\n");
      const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ statusCode: Number(statusLine?.split(" ")[1]), headers, body: text.slice(split + 4), text });
    });
  });
}

t.test("over a real socket", async (t) => {
  const server = await fixture(t);
  const { port } = await listen(t, server.server);

  t.test("a 100 KB header answers 431 with an OAuth error body", async (t) => {
    const res = await raw(port, `GET /healthz HTTP/1.1\r\nHost: tessera.test\r\nX-Padding: ${"a".repeat(100 * 1024)}\r\nConnection: close\r\n\r\n`);
    expectOAuthError(t, res, 431, "invalid_request");
  });

  t.test("a 100 KB Authorization header on POST /token answers 431 with an OAuth error body", async (t) => {
    const res = await raw(
      port,
      `POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic ${"QQ".repeat(50 * 1024)}\r\n` +
        `Content-Length: 29\r\nConnection: close\r\n\r\ngrant_type=client_credentials`,
    );
    expectOAuthError(t, res, 431, "invalid_request");
  });

  const malformed: [string, string | Buffer][] = [
    ["plain garbage", "GARBAGE\r\n\r\n"],
    ["binary bytes", Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a])],
    ["an unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: tessera.test\r\n\r\n"],
    ["a header line without a colon", "GET /healthz HTTP/1.1\r\nHost: tessera.test\r\nNot a header\r\n\r\n"],
    ["a NUL byte in a header value", "GET /healthz HTTP/1.1\r\nHost: tessera.test\r\nX-Test: a\u0000b\r\n\r\n"],
    ["a space in the request target", "GET /health z HTTP/1.1\r\nHost: tessera.test\r\n\r\n"],
    [
      "both Content-Length and Transfer-Encoding (request smuggling)",
      "POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["a chunk size that is not hexadecimal", "POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"],
    ["two Content-Length values that differ", "POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"],
    ["an HTTP/1.1 request without Host (RFC 9112 §3.2)", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"],
  ];
  for (const [name, request] of malformed) {
    t.test(`malformed HTTP: ${name} answers 400 with an OAuth error body`, async (t) => {
      const res = await raw(port, request);
      expectOAuthError(t, res, 400, "invalid_request");
    });
  }

  t.test("the answer to an HTTP/1.1 request without Host carries the security headers", async (t) => {
    const res = await raw(port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    expectOAuthError(t, res, 400, "invalid_request");
    t.match(JSON.parse(res.body).error_description, /Host/, "the description names the missing header");
    t.match(res.headers["content-security-policy"], CSP_NONE, "Content-Security-Policy default-src 'none'");
    t.equal(res.headers["x-content-type-options"], "nosniff", "X-Content-Type-Options: nosniff");
    t.equal(res.headers["x-frame-options"], "DENY", "X-Frame-Options: DENY");
  });

  t.test("the answers written on the raw socket carry the security headers of every other answer", async (t) => {
    const requests: [string, number][] = [
      ["GARBAGE\r\n\r\n", 400],
      [`GET /healthz HTTP/1.1\r\nHost: tessera.test\r\nX-Padding: ${"a".repeat(100 * 1024)}\r\n\r\n`, 431],
    ];
    for (const [request, status] of requests) {
      const res = await raw(port, request);
      t.equal(res.statusCode, status, "answered by the raw-socket handler");
      t.match(res.headers["content-security-policy"], CSP_NONE, "Content-Security-Policy default-src 'none'");
      t.equal(res.headers["x-content-type-options"], "nosniff", "X-Content-Type-Options: nosniff");
      t.equal(res.headers["x-frame-options"], "DENY", "X-Frame-Options: DENY");
      t.match(res.headers["strict-transport-security"], /^max-age=31536000/, "HSTS, the issuer being https");
    }
    const plain = await fixture(t, { TESSERA_ISSUER: "http://127.0.0.1:3000" });
    const { port: plainPort } = await listen(t, plain.server);
    const res = await raw(plainPort, "GARBAGE\r\n\r\n");
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(res.headers["x-content-type-options"], "nosniff", "http issuer: X-Content-Type-Options: nosniff");
    t.equal(res.headers["strict-transport-security"], undefined, "http issuer: no HSTS");
  });

  t.test("a malformed percent-escape in the path answers 400 with an OAuth error body", async (t) => {
    const res = await raw(port, "GET /admin/clients/%E0%A4%A HTTP/1.1\r\nHost: tessera.test\r\nConnection: close\r\n\r\n");
    expectOAuthError(t, res, 400, "invalid_request");
  });

  await assertAlive(t, server);
});

t.test("malformed URLs answer an OAuth error body, not Fastify's", async (t) => {
  for (const url of ["/%zz", "/token%ff", "/admin/clients/%E0%A4%A", "/admin/clients/%ED%A0%80", "/.well-known/jwks.json%"]) {
    t.test(`${url}: 400 invalid_request`, async (t) => {
      const res = await f.inject({ method: url.startsWith("/admin") ? "GET" : "POST", url, headers: { authorization: f.adminAuth } });
      expectOAuthError(t, res, 400, "invalid_request");
    });
  }

  t.test("a path parameter longer than the router allows (100 characters): 414 invalid_request", async (t) => {
    for (const method of ["GET", "PATCH", "DELETE"] as const) {
      const res = await f.inject({ method, url: `/admin/clients/${"a".repeat(101)}`, headers: { ...JSON_TYPE, authorization: f.adminAuth }, payload: "{}" });
      expectOAuthError(t, res, 414, "invalid_request");
    }
  });

  await assertAlive(t, f);
});

t.test("wrong content types on the form endpoints answer 400 invalid_request", async (t) => {
  const token = (await postToken(f, form({ grant_type: "client_credentials" }))).json().access_token as string;
  const valid: Record<string, Record<string, string>> = {
    "/token": { grant_type: "client_credentials" },
    "/revoke": { token: "not-a-token-of-ours" },
    "/introspect": { token },
  };
  const wrong: [string, (params: Record<string, string>) => string][] = [
    ["application/json", (params) => JSON.stringify(params)],
    ["text/plain", (params) => form(params)],
    ["multipart/form-data; boundary=b", (params) => Object.entries(params).map(([k, v]) => `--b\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join("") + "--b--\r\n"],
    ["application/x-www-form-urlencoded-but-not", (params) => form(params)],
    ["application/xml", (params) => `<r>${form(params)}</r>`],
  ];
  for (const [url, params] of Object.entries(valid)) {
    t.test(url, async (t) => {
      const control = await f.inject({ method: "POST", url, headers: { ...FORM, authorization: f.auth }, payload: form(params) });
      t.equal(control.statusCode, 200, "control: the same request as a form is served");
      for (const [type, encode] of wrong) {
        // token.errors.test.ts covers JSON and text/plain at /token.
        if (url === "/token" && (type === "application/json" || type === "text/plain")) continue;
        const res = await f.inject({ method: "POST", url, headers: { "content-type": type, authorization: f.auth }, payload: encode(params) });
        t.test(type, async (t) => expectOAuthError(t, res, 400, "invalid_request"));
      }
    });
  }
});

t.test("characters the databases treat specially never yield a 5xx", async (t) => {
  t.test("U+0000 in a username is a failed sign-in (/login, password grant)", async (t) => {
    for (const username of ["a\u0000b", "\u0000", `${USERNAME}\u0000`]) {
      const res = await login(f, JSON.stringify({ username, password: PASSWORD, client_id: f.webClientId }));
      expectOAuthError(t, res, 400, "invalid_grant");
    }
    const web = await f.server.createClient({ firstParty: true, grantTypes: ["password"], scopes: ["read"], audiences: [API] });
    const res = await f.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "password", username: "a\u0000b", password: PASSWORD }),
    });
    expectOAuthError(t, res, 400, "invalid_grant");
  });

  t.test("U+0000 in a client name at POST /admin/clients is refused: 400 invalid_request", async (t) => {
    const res = await createClientRequest(f, JSON.stringify({ name: "ac\u0000me", grant_types: ["client_credentials"], audiences: [API] }));
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("U+0000 in a client name at PATCH /admin/clients/:id is refused: 400 invalid_request", async (t) => {
    const target = await f.server.createClient();
    const res = await f.inject({ method: "PATCH", url: `/admin/clients/${target.clientId}`, headers: { ...JSON_TYPE, authorization: f.adminAuth }, payload: JSON.stringify({ name: "\u0000" }) });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("U+0000 in a client id in the path is a malformed client id: 400", async (t) => {
    const requests: [string, string, string | undefined][] = [
      ["GET", "/admin/clients/a%00b", undefined],
      ["PATCH", "/admin/clients/a%00b", JSON.stringify({ name: "x" })],
      ["DELETE", "/admin/clients/a%00b", undefined],
      ["POST", "/admin/clients/a%00b/secret", "{}"],
    ];
    for (const [method, url, payload] of requests) {
      const res = await f.inject({ method: method as "GET", url, headers: { ...(payload && JSON_TYPE), authorization: f.adminAuth }, ...(payload && { payload }) });
      t.test(`${method} ${url}`, async (t) => {
        expectOAuthError(t, res, 400, "invalid_request");
      });
    }
  });

  t.test("GET /admin/audit?before= beyond a 32-bit integer: the newest page up to 10 digits, 400 beyond", async (t) => {
    const newest = await f.inject({ method: "GET", url: "/admin/audit", headers: { authorization: f.adminAuth } });
    t.equal(newest.statusCode, 200);
    for (const before of ["2147483648", "9999999999"]) {
      const res = await f.inject({ method: "GET", url: `/admin/audit?before=${before}`, headers: { authorization: f.adminAuth } });
      t.equal(res.statusCode, 200, `before=${before}: 200`);
      t.same(res.json(), newest.json(), "every event is older than that id");
    }
    for (const before of ["99999999999", "999999999999999"]) {
      const res = await f.inject({ method: "GET", url: `/admin/audit?before=${before}`, headers: { authorization: f.adminAuth } });
      expectOAuthError(t, res, 400, "invalid_request");
    }
  });

  await assertAlive(t, f);
});

t.test("security headers", async (t) => {

  /** Requests answered 200, 4xx and 413 on every kind of route. */
  async function answers(target: Fixture): Promise<[string, LightMyRequestResponse][]> {
    const tokenRes = await postToken(target, form({ grant_type: "client_credentials" }));
    return [
      ["GET /healthz (200)", await target.inject({ method: "GET", url: "/healthz" })],
      ["GET /.well-known/jwks.json (200)", await target.inject({ method: "GET", url: "/.well-known/jwks.json" })],
      ["GET /.well-known/oauth-authorization-server (200)", await target.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })],
      ["POST /token (200)", tokenRes],
      ["POST /token (400)", await postToken(target, form({ grant_type: "nope" }))],
      ["POST /token (401)", await target.inject({ method: "POST", url: "/token", headers: FORM, payload: form({ grant_type: "client_credentials" }) })],
      ["POST /introspect (200)", await target.inject({ method: "POST", url: "/introspect", headers: { ...FORM, authorization: target.auth }, payload: form({ token: tokenRes.json().access_token }) })],
      ["POST /login (400)", await login(target, "{}")],
      ["GET /admin/clients (401)", await target.inject({ method: "GET", url: "/admin/clients" })],
      ["GET /admin/clients (200)", await target.inject({ method: "GET", url: "/admin/clients", headers: { authorization: target.adminAuth } })],
      ["GET /nope (404)", await target.inject({ method: "GET", url: "/nope" })],
      // Refused by Fastify's router, before any hook runs.
      ["GET with a malformed percent-encoding (400)", await target.inject({ method: "GET", url: "/admin/clients/%E0%A4%A" })],
      ["GET with an over-long path parameter (414)", await target.inject({ method: "GET", url: `/admin/clients/${"a".repeat(1000)}` })],
      ["POST /token over BODY_LIMIT (413)", await postToken(target, form({ grant_type: "client_credentials", scope: "x".repeat(target.server.config.bodyLimitBytes) }))],
    ];
  }

  t.test("https issuer: CSP default-src 'none', nosniff, X-Frame-Options and HSTS on every answer", async (t) => {
    t.equal(f.server.config.issuer, ISSUER);
    for (const [name, res] of await answers(f)) {
      t.equal(res.statusCode, Number(/\((\d{3})\)/.exec(name)?.[1]), `${name}: the status named`);
      t.match(res.headers["content-security-policy"], CSP_NONE, `${name}: Content-Security-Policy default-src 'none'`);
      t.equal(res.headers["x-content-type-options"], "nosniff", `${name}: X-Content-Type-Options: nosniff`);
      t.equal(res.headers["x-frame-options"], "DENY", `${name}: X-Frame-Options: DENY`);
      const hsts = String(res.headers["strict-transport-security"] ?? "");
      const maxAge = Number(/^max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
      t.ok(maxAge >= 31_536_000, `${name}: Strict-Transport-Security for at least a year (got "${hsts}")`);
    }
  });

  t.test("http issuer: the same headers but no HSTS (RFC 6797 §7.2: not over plain HTTP)", async (t) => {
    const plain = await fixture(t, { TESSERA_ISSUER: "http://127.0.0.1:3000" });
    for (const [name, res] of await answers(plain)) {
      t.match(res.headers["content-security-policy"], CSP_NONE, `${name}: Content-Security-Policy default-src 'none'`);
      t.equal(res.headers["x-content-type-options"], "nosniff", `${name}: X-Content-Type-Options: nosniff`);
      t.equal(res.headers["x-frame-options"], "DENY", `${name}: X-Frame-Options: DENY`);
      t.equal(res.headers["strict-transport-security"], undefined, `${name}: no Strict-Transport-Security`);
    }
  });
});
