// POST /par (RFC 9126 §2): client authentication by every method /token takes, the request checked
// as /authorize checks it with errors as JSON (§2.3), 201 {request_uri, expires_in} with no-store,
// only a digest of the request_uri stored, and the metadata that advertises it (§5).
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import t from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { authorizeFixture, CHALLENGE, codeClient, REDIRECT_URI } from "../../helpers/authorize.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:([A-Za-z0-9_-]{43})$/;
const AUTH_REQUEST = { response_type: "code", redirect_uri: REDIRECT_URI, state: "xyz", scope: "read", code_challenge: CHALLENGE, code_challenge_method: "S256" };

const f = await authorizeFixture(t);
const { app } = f;

const push = (payload: Record<string, string | string[]>, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url: "/par", headers: { ...FORM, ...headers }, payload: form(payload) });
const pushAsClient = (params: Record<string, string | string[] | undefined> = {}) => {
  const payload = Object.fromEntries(Object.entries({ ...AUTH_REQUEST, ...params }).filter(([, v]) => v !== undefined)) as Record<string, string | string[]>;
  return push(payload, { authorization: basic(f.clientId, f.clientSecret) });
};

/** The stored row of a 201's request_uri, found by the digest of its random part. */
async function storedOf(requestUri: string) {
  const random = REQUEST_URI.exec(requestUri)?.[1];
  return random === undefined ? null : app.services.db.pushedAuthorizationRequest.findUnique({ where: { digest: sha256(random) } });
}

t.test("client_secret_basic: 201, a request_uri URN, expires_in = PAR_TTL, no-store, only a digest stored", async (t) => {
  const res = await pushAsClient();
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers["cache-control"], "no-store");
  t.match(res.headers["content-type"], /^application\/json/);
  const body = res.json() as { request_uri: string; expires_in: number };
  t.same(Object.keys(body).sort(), ["expires_in", "request_uri"]);
  t.match(body.request_uri, REQUEST_URI, "urn:ietf:params:oauth:request_uri: and 256 random bits");
  t.equal(body.expires_in, 60, "PAR_TTL's default; RFC 9126 §2.2 wants it short");
  const row = await storedOf(body.request_uri);
  t.ok(row, "stored under the digest of the random part");
  t.equal(row!.clientId, f.clientId);
  t.equal(row!.expiresAt.getTime(), f.clock.now() + 60_000);
  t.same(JSON.parse(row!.parameters), { client_id: f.clientId, ...AUTH_REQUEST }, "the request, with the authenticated client's id");
  const random = REQUEST_URI.exec(body.request_uri)![1]!;
  t.equal(await app.services.db.pushedAuthorizationRequest.count({ where: { OR: [{ digest: random }, { digest: body.request_uri }] } }), 0, "never the value itself");
  t.not((await pushAsClient()).json().request_uri, body.request_uri, "each push its own request_uri");
});

t.test("client_secret_post: the secret is not part of the stored request", async (t) => {
  const res = await push({ ...AUTH_REQUEST, client_id: f.clientId, client_secret: f.clientSecret });
  t.equal(res.statusCode, 201, res.body);
  const parameters = JSON.parse((await storedOf(res.json().request_uri))!.parameters) as Record<string, string>;
  t.equal(parameters.client_secret, undefined);
  t.equal(parameters.client_id, f.clientId);
});

t.test("private_key_jwt: aud may be the PAR endpoint, the issuer or the token endpoint (RFC 9126 §2)", async (t) => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const clientId = await codeClient(f, { name: "keyed", jwks: { keys: [jwk] } });
  const now = Math.floor(f.clock.now() / 1000);
  const assertion = (claims: JWTPayload) =>
    new SignJWT({ iss: clientId, sub: clientId, exp: now + 60, iat: now, jti: randomUUID(), ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
  const withAssertion = async (aud: string) => push({ ...AUTH_REQUEST, client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion({ aud }) });
  for (const aud of [`${ISSUER}/par`, ISSUER, `${ISSUER}/token`]) {
    const res = await withAssertion(aud);
    t.equal(res.statusCode, 201, `aud ${aud}: ${res.body}`);
    const parameters = JSON.parse((await storedOf(res.json().request_uri))!.parameters) as Record<string, string>;
    t.equal(parameters.client_assertion, undefined, "the assertion is not stored");
    t.equal(parameters.client_assertion_type, undefined);
  }
  expectOAuthError(t, await withAssertion("https://elsewhere.test/par"), 401, "invalid_client");
});

t.test("a public client names itself (none); a confidential client must authenticate", async (t) => {
  const { clientId } = await f.createClient({ name: "spa", public: true, grantTypes: ["authorization_code"], redirectUris: [REDIRECT_URI] });
  const res = await push({ ...AUTH_REQUEST, client_id: clientId });
  t.equal(res.statusCode, 201, res.body);
  t.equal((await storedOf(res.json().request_uri))!.clientId, clientId);
  expectOAuthError(t, await push({ ...AUTH_REQUEST, client_id: f.clientId }), 401, "invalid_client");
  expectOAuthError(t, await push({ ...AUTH_REQUEST }), 401, "invalid_client");
  expectOAuthError(t, await push(AUTH_REQUEST, { authorization: basic(f.clientId, "wrong secret") }), 401, "invalid_client");
});

t.test("request_uri in the body: invalid_request (RFC 9126 §2.1)", async (t) => {
  const res = await pushAsClient({ request_uri: "urn:ietf:params:oauth:request_uri:abc" });
  expectOAuthError(t, res, 400, "invalid_request");
  t.equal(res.json().error_description, "request_uri cannot be pushed: send the request itself");
});

t.test("client_id must name the authenticated client", async (t) => {
  const res = await pushAsClient({ client_id: f.firstPartyId });
  expectOAuthError(t, res, 400, "invalid_request");
  t.equal(res.json().error_description, "client_id does not match the authorization header");
  t.equal((await pushAsClient({ client_id: f.clientId })).statusCode, 201, "the same id is fine");
});

t.test("the request is checked as /authorize checks it; errors are JSON, never a redirect (RFC 9126 §2.3)", async (t) => {
  const cases: [string, Record<string, string | string[] | undefined>, string, string][] = [
    ["response_type missing", { response_type: undefined }, "invalid_request", "parameter response_type is missing"],
    ["response_type=token", { response_type: "token" }, "unsupported_response_type", "only response_type=code is supported"],
    ["unregistered redirect_uri", { redirect_uri: "https://evil.example.test/cb" }, "invalid_request", "redirect_uri is not registered for this client"],
    ["no PKCE", { code_challenge: undefined }, "invalid_request", "code_challenge is required (PKCE with S256)"],
    ["plain PKCE", { code_challenge_method: "plain" }, "invalid_request", "code_challenge_method must be S256 (plain is not allowed)"],
    ["a scope not the client's", { scope: "read admin" }, "invalid_scope", "scope not allowed for this client: admin"],
    ["an unknown resource", { resource: "https://unknown.example.test" }, "invalid_target", "requested audience is not registered for this client"],
    ["a bad prompt", { prompt: "none login" }, "invalid_request", "prompt=none cannot be combined with other values"],
    ["a bad max_age", { max_age: "-1" }, "invalid_request", "max_age must be a non-negative integer (seconds)"],
    ["a malformed dpop_jkt", { dpop_jkt: "not-a-thumbprint" }, "invalid_request", "dpop_jkt must be a JWK SHA-256 thumbprint: 43 base64url characters"],
  ];
  const before = await app.services.db.pushedAuthorizationRequest.count();
  for (const [name, params, error, description] of cases) {
    const res = await pushAsClient(params);
    expectOAuthError(t, res, 400, error);
    t.equal(res.headers.location, undefined, `${name}: no redirect`);
    t.equal(res.json().error_description, description, name);
  }
  t.equal(await app.services.db.pushedAuthorizationRequest.count(), before, "nothing stored for a refused request");

  const repeated = await pushAsClient({ scope: ["read", "write"] });
  expectOAuthError(t, repeated, 400, "invalid_request");
  t.equal((await pushAsClient({ resource: ["https://api.example.test", "https://other.example.test"] })).statusCode, 201, "resource may be repeated (RFC 8707)");
  const machine = await f.createClient({ name: "machine" });
  const unauthorized = await push(AUTH_REQUEST, { authorization: basic(machine.clientId, machine.clientSecret) });
  expectOAuthError(t, unauthorized, 400, "unauthorized_client");
  const json = await app.inject({ method: "POST", url: "/par", headers: { "content-type": "application/json", authorization: basic(f.clientId, f.clientSecret) }, payload: AUTH_REQUEST });
  expectOAuthError(t, json, 400, "invalid_request");
  t.equal(json.json().error_description, "content type must be application/x-www-form-urlencoded");
});

t.test("another method than POST: 405 with Allow: POST and a JSON error (RFC 9126 §2.3)", async (t) => {
  for (const method of ["GET", "HEAD", "PUT", "PATCH", "DELETE"] as const) {
    const res = await app.inject({ method, url: "/par", headers: { authorization: basic(f.clientId, f.clientSecret) } });
    t.equal(res.statusCode, 405, method);
    t.equal(res.headers.allow, "POST", method);
    if (method !== "HEAD") t.same(res.json(), { error: "invalid_request", error_description: "the pushed authorization request endpoint takes POST" }, method);
  }
  t.equal((await app.inject({ method: "GET", url: "/par/x" })).statusCode, 404, "other paths stay 404");
});

t.test("PAR_TTL sets expires_in and the stored expiry", async (t) => {
  const g = await authorizeFixture(t, { PAR_TTL: "10" });
  const res = await g.app.inject({ method: "POST", url: "/par", headers: { ...FORM, authorization: basic(g.clientId, g.clientSecret) }, payload: form(AUTH_REQUEST) });
  t.equal(res.json().expires_in, 10);
});

t.test("rate limited as /token (RATE_LIMIT_TOKEN per client and minute)", async (t) => {
  const g = await authorizeFixture(t, { RATE_LIMIT_TOKEN: "2" });
  const once = () => g.app.inject({ method: "POST", url: "/par", headers: { ...FORM, authorization: basic(g.clientId, g.clientSecret) }, payload: form(AUTH_REQUEST) });
  t.equal((await once()).statusCode, 201);
  t.equal((await once()).statusCode, 201);
  const refused = await once();
  expectOAuthError(t, refused, 429, "slow_down");
  t.ok(refused.headers["retry-after"]);
});

t.test("metadata: pushed_authorization_request_endpoint and require_pushed_authorization_requests (RFC 9126 §5)", async (t) => {
  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    const body = (await app.inject({ method: "GET", url: path })).json();
    t.equal(body.pushed_authorization_request_endpoint, `${ISSUER}/par`, path);
    t.equal(body.require_pushed_authorization_requests, false, path);
  }
  const required = await buildTestApp(t, { REQUIRE_PAR: "on" });
  const body = (await required.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json();
  t.equal(body.require_pushed_authorization_requests, true, "REQUIRE_PAR=on");
});

t.test("/par is in /openapi.json with its request and response schemas and client authentication", async (t) => {
  const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  const op = doc.paths["/par"].post;
  t.ok(op.requestBody.content["application/x-www-form-urlencoded"].schema.properties.code_challenge);
  t.same(Object.keys(op.responses["201"].content["application/json"].schema.properties).sort(), ["expires_in", "request_uri"]);
  t.ok(op.responses["4XX"] ?? op.responses["4xx"], "its errors");
  t.same(op.security, [{ clientSecretBasic: [] }, {}]);
});

t.test("CORS: a browser app on a listed origin may push (preflight and answer)", async (t) => {
  const g = await buildTestApp(t, { CORS_ORIGINS: "https://spa.example.test" });
  const preflight = await g.app.inject({
    method: "OPTIONS",
    url: "/par",
    headers: { origin: "https://spa.example.test", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  t.equal(preflight.statusCode, 204);
  t.equal(preflight.headers["access-control-allow-origin"], "https://spa.example.test");
  t.match(preflight.headers["access-control-allow-methods"], /POST/);
  const elsewhere = await g.app.inject({ method: "OPTIONS", url: "/par", headers: { origin: "https://evil.example.test", "access-control-request-method": "POST" } });
  t.equal(elsewhere.headers["access-control-allow-origin"], undefined, "an unlisted origin gets nothing");
});
