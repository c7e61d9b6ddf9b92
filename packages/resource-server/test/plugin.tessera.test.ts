// The Fastify plugin in front of a route, against a real tessera over HTTP: the exact RFC 6750
// answers (status, WWW-Authenticate, body) and request.accessToken.
import t, { type Test } from "tap";
import { createHash, randomUUID } from "node:crypto";
import Fastify from "fastify";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import resourceServer, { DEFAULT_DPOP_ALGORITHMS } from "../src/index.js";
import { AUDIENCE, startTessera } from "./helpers/tessera.js";

t.test("a route guarded by the plugin", async (t) => {
  const tessera = await startTessera(t);
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: tessera.issuer, audience: AUDIENCE });
  api.get("/things", { preHandler: api.requireScopes("read") }, async (request) => ({ client: request.accessToken?.client_id }));
  api.post("/things", { preHandler: api.requireScopes("read", "write") }, async () => ({ created: true }));
  api.get("/health", { config: { accessToken: false } }, async (request) => ({ ok: true, token: request.accessToken }));
  const get = (headers: Record<string, string> = {}, url = "/things") => api.inject({ method: "GET", url, headers });

  t.test("answers 200 with a good token and decorates request.accessToken", async (t) => {
    const token = await tessera.token({ scope: "read" });
    const res = await get({ authorization: `Bearer ${token}` });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { client: JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).client_id });
    t.match(res.json().client, /\S/);
  });

  t.test("the scheme is case-insensitive (RFC 7235 §2.1)", async (t) => {
    const res = await get({ authorization: `bearer ${await tessera.token()}` });
    t.equal(res.statusCode, 200);
  });

  t.test("without a token: 401 and a challenge per scheme without an error code (RFC 6750 §3.1, RFC 9449 §7.2)", async (t) => {
    for (const headers of [{}, { authorization: "Basic Zm9vOmJhcg==" }] as Record<string, string>[]) {
      const res = await get(headers);
      t.equal(res.statusCode, 401);
      t.equal(res.headers["www-authenticate"], 'Bearer, DPoP algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"');
      t.equal(res.headers["content-type"], "application/json; charset=utf-8");
      t.same(res.json(), { error_description: "an access token is required (Authorization: Bearer <token>, or DPoP <token> with a DPoP proof)" });
    }
  });

  const invalid = (description: string) => ({
    status: 401,
    challenge: `Bearer error="invalid_token", error_description="${description}"`,
    body: { error: "invalid_token", error_description: description },
  });
  const expectRefusal = async (t: Test, headers: Record<string, string>, expected: ReturnType<typeof invalid>) => {
    const res = await get(headers);
    t.equal(res.statusCode, expected.status);
    t.equal(res.headers["www-authenticate"], expected.challenge);
    t.same(res.json(), expected.body);
  };

  t.test("a malformed token: 401 invalid_token", async (t) => {
    await expectRefusal(t, { authorization: "Bearer not-a-jwt" }, invalid("the token is malformed"));
    await expectRefusal(t, { authorization: "Bearer two tokens" }, invalid("the token is malformed"));
    await expectRefusal(t, { authorization: "Bearer" }, invalid("the token is malformed"));
  });

  t.test("a token for another audience: 401 invalid_token", async (t) => {
    const token = await tessera.token({ audience: "https://other.example.test" });
    await expectRefusal(t, { authorization: `Bearer ${token}` }, invalid("the token is not for this audience"));
  });

  t.test("an expired token: 401 invalid_token", async (t) => {
    const token = await tessera.token();
    tessera.clock.advance(-3600); // issued an hour ago, so expired now (tessera's default lifetime is shorter)
    const old = await tessera.token();
    tessera.clock.advance(3600);
    await expectRefusal(t, { authorization: `Bearer ${old}` }, invalid("the token has expired"));
    t.equal((await get({ authorization: `Bearer ${token}` })).statusCode, 200);
  });

  t.test("a tampered token: 401 invalid_token", async (t) => {
    const [h, , s] = (await tessera.token()).split(".");
    const payload = Buffer.from(JSON.stringify({ iss: tessera.issuer, aud: AUDIENCE, scope: "read write" })).toString("base64url");
    await expectRefusal(t, { authorization: `Bearer ${h}.${payload}.${s}` }, invalid("the token's signature is invalid"));
  });

  t.test("missing scope: 403 insufficient_scope naming the scopes the route needs", async (t) => {
    const res = await api.inject({ method: "POST", url: "/things", headers: { authorization: `Bearer ${await tessera.token({ scope: "read" })}` } });
    t.equal(res.statusCode, 403);
    t.equal(res.headers["www-authenticate"], 'Bearer error="insufficient_scope", error_description="the token lacks scope read write", scope="read write"');
    t.same(res.json(), { error: "insufficient_scope", error_description: "the token lacks scope read write" });
    const both = await api.inject({ method: "POST", url: "/things", headers: { authorization: `Bearer ${await tessera.token({ scope: "read write" })}` } });
    t.equal(both.statusCode, 200);
    t.same(both.json(), { created: true });
  });

  t.test("a route with config.accessToken false needs no token", async (t) => {
    const res = await get({}, "/health");
    t.equal(res.statusCode, 200);
    t.same(res.json(), { ok: true, token: null });
  });
});

t.test("a DPoP-bound token from tessera's /token, with a proof of its key (RFC 9449 §7)", async (t) => {
  const tessera = await startTessera(t);
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: tessera.issuer, audience: AUDIENCE, publicUrl: "https://api.example.test" });
  api.get("/things", { preHandler: api.requireScopes("read") }, async (request) => ({ jkt: request.accessToken?.cnf?.jkt }));
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = await exportJWK(publicKey);
  const proof = (htm: string, htu: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims }).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk }).sign(privateKey);
  const token = await tessera.token({ dpop: await proof("POST", `${tessera.issuer}/token`) });
  t.same(JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).cnf, { jkt: await calculateJwkThumbprint(jwk) }, "tessera bound it");
  const ath = createHash("sha256").update(token).digest("base64url");
  const ok = await api.inject({ method: "GET", url: "/things", headers: { authorization: `DPoP ${token}`, dpop: await proof("GET", "https://api.example.test/things", { ath }) } });
  t.equal(ok.statusCode, 200, ok.body);
  t.same(ok.json(), { jkt: await calculateJwkThumbprint(jwk) });
  const asBearer = await api.inject({ method: "GET", url: "/things", headers: { authorization: `Bearer ${token}` } });
  t.equal(asBearer.statusCode, 401);
  t.equal(asBearer.json().error, "invalid_token");
  const withoutAth = await api.inject({ method: "GET", url: "/things", headers: { authorization: `DPoP ${token}`, dpop: await proof("GET", "https://api.example.test/things") } });
  t.equal(withoutAth.statusCode, 401);
  t.equal(withoutAth.json().error, "invalid_dpop_proof");
});

t.test("requireScopes refuses what is not a scope token", async (t) => {
  const tessera = await startTessera(t);
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: tessera.issuer, audience: AUDIENCE, realm: "things" });
  t.throws(() => api.requireScopes("read write"), new TypeError('not a scope token: "read write"'));
  api.get("/", async () => "ok");
  const res = await api.inject({ method: "GET", url: "/" });
  t.equal(res.headers["www-authenticate"], `Bearer realm="things", DPoP realm="things", algs="${DEFAULT_DPOP_ALGORITHMS.join(" ")}"`);
});

t.test("registering against an issuer that cannot be discovered fails the app's start", async (t) => {
  const tessera = await startTessera(t);
  const api = Fastify();
  t.teardown(() => api.close());
  api.register(resourceServer, { issuer: `${tessera.issuer}/elsewhere`, audience: AUDIENCE });
  await t.rejects(async () => api.ready(), { code: "temporarily_unavailable" });
});
