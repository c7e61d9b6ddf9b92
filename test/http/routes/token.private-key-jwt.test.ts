// private_key_jwt client authentication (RFC 7523 §2.2, §3; RFC 7521 §4.2): the client proves itself
// with a JWT signed by a key it registered. Each assertion is accepted once, on any instance.
import { randomUUID } from "node:crypto";
import t from "tap";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const first = await buildTestApp(t);
const { app, clock, createClient } = first;
const { publicKey, privateKey } = await generateKeyPair("ES256");
const publicJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
const { clientId, clientSecret } = await createClient({ jwks: { keys: [publicJwk] } });
const now = () => Math.floor(clock.now() / 1000);

const assertion = (overrides: JWTPayload = {}, alg = "ES256", key: CryptoKey | Uint8Array = privateKey) =>
  new SignJWT({ iss: clientId, sub: clientId, aud: `${ISSUER}/token`, exp: now() + 60, iat: now(), jti: randomUUID(), ...overrides })
    .setProtectedHeader({ alg, kid: "k1" })
    .sign(key);

const token = (client_assertion: string, extra: Record<string, string> = {}, target = app) =>
  target.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({ grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion, ...extra }),
  });

t.equal(clientSecret, "", "a client registered with keys gets no secret");

t.test("a fresh assertion authenticates the client", async (t) => {
  const res = await token(await assertion());
  t.equal(res.statusCode, 200, res.body);
  t.ok(res.json().access_token);
  t.equal((await token(await assertion({ aud: ISSUER }))).statusCode, 200, "the issuer is an accepted audience too (RFC 7521 §5.1)");
  t.equal((await token(await assertion(), { client_id: clientId })).statusCode, 200, "with a matching client_id");
});

t.test("an assertion is accepted once", async (t) => {
  const once = await assertion();
  t.equal((await token(once)).statusCode, 200);
  expectOAuthError(t, await token(once), 401, "invalid_client");
});

t.test("a replay is refused by another instance on the same database", async (t) => {
  const second = await buildTestApp(t, { DATABASE_URL: first.config.databaseUrl, TESSERA_KEK: first.config.kek! }, clock);
  const once = await assertion();
  t.equal((await token(once)).statusCode, 200);
  expectOAuthError(t, await token(once, {}, second.app), 401, "invalid_client");
});

t.test("refused assertions: 401 invalid_client", async (t) => {
  const other = await generateKeyPair("ES256");
  const cases: [string, Promise<string> | string][] = [
    ["wrong audience", assertion({ aud: "https://elsewhere.test/token" })],
    ["expired", assertion({ exp: now() - 120 })],
    ["exp too far ahead (more than 5 minutes)", assertion({ exp: now() + 3600 })],
    ["no jti", assertion({ jti: undefined })],
    ["no exp", assertion({ exp: undefined })],
    ["iss is not sub", assertion({ sub: "someone-else" })],
    ["iss is another client", assertion({ iss: "no-such-client", sub: "no-such-client" })],
    ["signed by an unregistered key", assertion({}, "ES256", other.privateKey)],
    ["HMAC with the public key as secret", assertion({}, "HS256", new TextEncoder().encode(JSON.stringify(publicJwk)))],
    ["not a JWT", "garbage"],
  ];
  for (const [name, pending] of cases) {
    t.test(name, async (t) => expectOAuthError(t, await token(await pending), 401, "invalid_client"));
  }
  t.test("client_id that does not match iss", async (t) => expectOAuthError(t, await token(await assertion(), { client_id: "other" }), 401, "invalid_client"));
  t.test("unknown client_assertion_type", async (t) => {
    const res = await token(await assertion(), { client_assertion_type: "urn:example:other" });
    expectOAuthError(t, res, 401, "invalid_client");
  });
});

t.test("a disabled client's valid assertion: 401 invalid_client, as for any other cause; enabled again, accepted", async (t) => {
  await app.services.clientAdmin.disable(clientId);
  const refused = await token(await assertion());
  expectOAuthError(t, refused, 401, "invalid_client");
  t.equal(refused.json().error_description, "client authentication failed");
  await app.services.clientAdmin.update(clientId, { enabled: true });
  t.equal((await token(await assertion())).statusCode, 200);
});

t.test("an assertion and a secret together: 400 invalid_request", async (t) => {
  expectOAuthError(t, await token(await assertion(), { client_secret: "x" }), 400, "invalid_request");
});

t.test("client_assertion_type without client_assertion: 400 invalid_request naming the missing assertion", async (t) => {
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({ grant_type: "client_credentials", client_id: clientId, client_assertion_type: ASSERTION_TYPE }),
  });
  expectOAuthError(t, res, 400, "invalid_request");
  t.equal(res.json().error_description, "client_assertion is missing");
});

t.test("keys must be public and asymmetric", async (t) => {
  const { privateKey: extractable } = await generateKeyPair("ES256", { extractable: true });
  await t.rejects(createClient({ jwks: { keys: [await exportJWK(extractable)] } }), /private members/);
  await t.rejects(createClient({ jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } }), /RSA, EC or OKP/);
  await t.rejects(createClient({ jwks: { keys: [] } }), /1 to 10 keys/);
});

t.test("the metadata advertises private_key_jwt", async (t) => {
  const body = (await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json();
  t.ok(body.token_endpoint_auth_methods_supported.includes("private_key_jwt"));
  t.notOk(body.token_endpoint_auth_signing_alg_values_supported.some((a: string) => a.startsWith("HS") || a === "none"));
});
