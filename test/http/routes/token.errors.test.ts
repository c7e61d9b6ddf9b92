// POST /token error answers (RFC 6749 §5.2, RFC 8707 §2): each code with its status, exact body,
// Cache-Control and, for 401, WWW-Authenticate. invalid_client variants are in token.client-auth.test.ts.
import net from "node:net";
import t from "tap";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM, type ErrorAnswer } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const OTHER = "https://other.example.test";

const { app, createClient } = await buildTestApp(t);
const creds = await createClient({ scopes: ["read", "write"], audiences: [API, OTHER] });
const auth = { authorization: basic(creds.clientId, creds.clientSecret) };

/** An authenticated POST /token with form parameters. */
const tokenRequest = (params: Record<string, string | string[]>): Promise<LightMyRequestResponse> =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, ...auth }, payload: form(params) });

const clientCredentials = (params: Record<string, string | string[]> = {}) => tokenRequest({ grant_type: "client_credentials", ...params });

t.test("invalid_request", async (t) => {
  t.test("missing grant_type", async (t) => {
    const res = await tokenRequest({ scope: "read" });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(res.json().error_description, "grant_type is required");
  });

  t.test("empty grant_type counts as missing (RFC 6749 §3.2)", async (t) => {
    expectOAuthError(t, await tokenRequest({ grant_type: "" }), 400, "invalid_request");
  });

  t.test("repeated grant_type (RFC 6749 §3.2)", async (t) => {
    expectOAuthError(t, await tokenRequest({ grant_type: ["client_credentials", "client_credentials"] }), 400, "invalid_request");
  });

  t.test("repeated client_id", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: FORM,
      payload: form({ grant_type: "client_credentials", client_id: [creds.clientId, creds.clientId], client_secret: creds.clientSecret }),
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("repeated client_secret", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: FORM,
      payload: form({ grant_type: "client_credentials", client_id: creds.clientId, client_secret: [creds.clientSecret, creds.clientSecret] }),
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("repeated scope", async (t) => {
    const res = await clientCredentials({ scope: ["read", "write"] });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(res.json().error_description, "scope must be a single string (given once)");
  });

  t.test("repeated audience", async (t) => {
    expectOAuthError(t, await clientCredentials({ audience: [API, OTHER] }), 400, "invalid_request");
  });

  t.test("both resource and audience", async (t) => {
    expectOAuthError(t, await clientCredentials({ resource: API, audience: API }), 400, "invalid_request");
  });

  t.test("a parameter longer than 4096 characters", async (t) => {
    const res = await clientCredentials({ scope: "r".repeat(5000) });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(res.json().error_description, "scope must be a string of at most 4096 characters");
  });

  t.test("JSON body", async (t) => {
    const res = await app.inject({ method: "POST", url: "/token", headers: auth, payload: { grant_type: "client_credentials" } });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("malformed JSON body", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...auth, "content-type": "application/json" },
      payload: '{"grant_type":',
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("text/plain body", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...auth, "content-type": "text/plain" },
      payload: "grant_type=client_credentials",
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("a media type no parser knows (application/xml)", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...auth, "content-type": "application/xml" },
      payload: "<grant_type>client_credentials</grant_type>",
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("no content type and no body", async (t) => {
    const res = await app.inject({ method: "POST", url: "/token", headers: auth });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("form content type with an empty body", async (t) => {
    const res = await app.inject({ method: "POST", url: "/token", headers: { ...FORM, ...auth }, payload: "" });
    expectOAuthError(t, res, 400, "invalid_request");
  });
});

t.test("unsupported_grant_type", async (t) => {
  for (const grant of ["foo", "device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer", "CLIENT_CREDENTIALS"]) {
    t.test(grant, async (t) => {
      expectOAuthError(t, await tokenRequest({ grant_type: grant }), 400, "unsupported_grant_type");
    });
  }

  t.test("a grant_type value with quotes and backslashes is not echoed into the description", async (t) => {
    expectOAuthError(t, await tokenRequest({ grant_type: 'x"\\y' }), 400, "unsupported_grant_type");
  });
});

t.test("unauthorized_client", async (t) => {
  t.test("client_credentials asked by a client registered only for password and refresh_token", async (t) => {
    const firstParty = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(firstParty.clientId, firstParty.clientSecret) },
      payload: form({ grant_type: "client_credentials" }),
    });
    expectOAuthError(t, res, 400, "unauthorized_client");
  });

  t.test("password asked by a client registered only for client_credentials", async (t) => {
    expectOAuthError(t, await tokenRequest({ grant_type: "password", username: "alice", password: "secret" }), 400, "unauthorized_client");
  });
});

t.test("invalid_scope", async (t) => {
  t.test("a scope the client is not allowed", async (t) => {
    expectOAuthError(t, await clientCredentials({ scope: "admin" }), 400, "invalid_scope");
  });

  t.test("allowed scopes plus one that is not", async (t) => {
    expectOAuthError(t, await clientCredentials({ scope: "read write admin" }), 400, "invalid_scope");
  });

  t.test("any scope asked of a client with no allowed scopes", async (t) => {
    const none = await createClient({ scopes: [] });
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(none.clientId, none.clientSecret) },
      payload: form({ grant_type: "client_credentials", scope: "read" }),
    });
    expectOAuthError(t, res, 400, "invalid_scope");
  });

  // scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3)
  const malformed: Record<string, string> = {
    "double quote": 'read"',
    backslash: "read\\write",
    "non-ASCII": "lecture-é",
    tab: "read\twrite",
    newline: "read\nwrite",
    NUL: "read\u0000",
    DEL: "read\u007f",
  };
  for (const [name, scope] of Object.entries(malformed)) {
    t.test(`malformed scope: ${name}`, async (t) => {
      expectOAuthError(t, await clientCredentials({ scope }), 400, "invalid_scope");
    });
  }
});

t.test("invalid_target", async (t) => {
  t.test("resource the client is not registered for", async (t) => {
    expectOAuthError(t, await clientCredentials({ resource: "https://elsewhere.example.test" }), 400, "invalid_target");
  });

  t.test("audience the client is not registered for", async (t) => {
    expectOAuthError(t, await clientCredentials({ audience: "https://elsewhere.example.test" }), 400, "invalid_target");
  });

  t.test("resource that differs from a registered one only by a trailing slash", async (t) => {
    expectOAuthError(t, await clientCredentials({ resource: `${API}/` }), 400, "invalid_target");
  });

  t.test("repeated resource where one value is not registered", async (t) => {
    expectOAuthError(t, await clientCredentials({ resource: [API, "https://elsewhere.example.test"] }), 400, "invalid_target");
  });

  t.test("resource with a fragment (RFC 8707 §2)", async (t) => {
    expectOAuthError(t, await clientCredentials({ resource: `${API}#part` }), 400, "invalid_target");
  });

  t.test("resource that is not an absolute URI (RFC 8707 §2)", async (t) => {
    expectOAuthError(t, await clientCredentials({ resource: "api.example.test" }), 400, "invalid_target");
  });
});

t.test("a body over BODY_LIMIT answers 413 with an OAuth error body", async (t) => {
  const small = await buildTestApp(t, { BODY_LIMIT: "1024" });
  const client = await small.createClient();
  const payload = form({ grant_type: "client_credentials", foo: "x".repeat(2000) });
  t.ok(payload.length > 1024, "body is over the limit");
  const res = await small.app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(client.clientId, client.clientSecret) },
    payload,
  });
  expectOAuthError(t, res, 413, "invalid_request");

  const within = await small.app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(client.clientId, client.clientSecret) },
    payload: form({ grant_type: "client_credentials", foo: "x".repeat(500) }),
  });
  t.equal(within.statusCode, 200, "a body within the limit is served");
});

t.test("unknown routes answer 404 with an OAuth error body", async (t) => {
  t.test("POST /nope", async (t) => {
    const res = await app.inject({ method: "POST", url: "/nope", headers: FORM, payload: form({ grant_type: "client_credentials" }) });
    expectOAuthError(t, res, 404, "invalid_request");
  });

  t.test("GET /token (the endpoint takes POST only)", async (t) => {
    const res = await app.inject({ method: "GET", url: "/token?grant_type=client_credentials" });
    expectOAuthError(t, res, 404, "invalid_request");
    t.notOk(res.body.includes("statusCode"), "not Fastify's error shape");
  });
});

// These go over a real socket: light-my-request cannot send what Node's HTTP parser rejects, and it
// percent-encodes paths.
t.test("over a real connection", async (t) => {
  const server = await buildTestApp(t);
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = server.app.server.address() as net.AddressInfo;

  /** Sends raw bytes, reads the whole answer (the request asks the server to close). */
  const raw = (request: string) =>
    new Promise<ErrorAnswer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(port, "127.0.0.1", () => socket.end(request));
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", reject);
      socket.on("close", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const split = text.indexOf("\r\n\r\n");
        const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({ statusCode: Number(statusLine?.split(" ")[1]), headers, body: text.slice(split + 4) });
      });
    });

  t.test("an unknown path with a double quote keeps the description to RFC 6749 §5.2 characters", async (t) => {
    const res = await raw('POST /no"such\\path HTTP/1.1\r\nHost: tessera.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    expectOAuthError(t, res, 404, "invalid_request");
  });

  t.test("a request Node's HTTP parser rejects (bad Content-Length) still gets an OAuth error body", async (t) => {
    const res = await raw(
      "POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
        "Content-Length: abc\r\nConnection: close\r\n\r\ngrant_type=client_credentials",
    );
    expectOAuthError(t, res, 400, "invalid_request");
  });
});
