// POST /token, grant_type=client_credentials: successful answers (RFC 6749 §4.4, RFC 9068, RFC 8707).
// Error answers are in token.errors.test.ts, client authentication in token.client-auth.test.ts.
import t from "tap";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { LEASE_AHEAD_SECONDS } from "../../../src/domain/keys/key-ring.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const API = "https://api.example.test";
const OTHER = "https://other.example.test";

const { app, createClient, clock } = await buildTestApp(t);

type Creds = { clientId: string; clientSecret: string };

/** A client_credentials request authenticated with client_secret_basic, plus any extra parameters. */
const tokenFor = (creds: Creds, params: Record<string, string | string[]> = {}) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "client_credentials", ...params }),
  });

const nowSeconds = () => Math.floor(clock.now() / 1000);
/** The aud claim of a token response, or undefined when the response carries no token. */
const audienceOf = (body: { access_token?: string }) => (body.access_token ? decodeJwt(body.access_token).aud : undefined);
const sortedScope = (scope: unknown) => String(scope).split(" ").sort();

t.test("client_secret_basic issues an RFC 9068 token for the default audience", async (t) => {
  const { clientId, clientSecret } = await createClient();
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(clientId, clientSecret) },
    payload: form({ grant_type: "client_credentials" }),
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["cache-control"], "no-store");
  const body = res.json();
  t.equal(body.token_type, "Bearer");
  t.equal(body.expires_in, 900);
  t.equal(body.scope, "read write");
  const header = decodeProtectedHeader(body.access_token);
  t.equal(header.typ, "at+jwt");
  t.equal(header.alg, "RS256");
  t.equal(header.kid, app.services.keys.signer?.kid);
  const claims = decodeJwt(body.access_token);
  t.equal(claims.iss, "https://tessera.test");
  t.equal(claims.sub, clientId);
  t.equal(claims.client_id, clientId);
  t.equal(claims.aud, "https://api.example.test");
  t.equal(claims.iat, Math.floor(clock.now() / 1000));
  t.equal(claims.exp, claims.iat! + 900);
  t.type(claims.jti, "string");
});

t.test("the success body has exactly access_token, token_type, expires_in and scope, as JSON", async (t) => {
  const res = await tokenFor(await createClient());
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^application\/json/);
  t.same(Object.keys(res.json()).sort(), ["access_token", "expires_in", "scope", "token_type"]);
});

t.test("the token verifies against the published JWKS with issuer, audience and typ at+jwt", async (t) => {
  const creds = await createClient();
  const res = await tokenFor(creds);
  const jwks = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(jwks.statusCode, 200);
  const { payload, protectedHeader } = await jwtVerify(res.json().access_token, createLocalJWKSet(jwks.json()), {
    issuer: "https://tessera.test",
    audience: API,
    typ: "at+jwt",
    algorithms: ["RS256"],
    currentDate: new Date(clock.now()),
  });
  t.equal(protectedHeader.typ, "at+jwt");
  t.equal(payload.sub, creds.clientId);
  t.equal(payload.scope, "read write");
});

t.test("every token gets its own jti", async (t) => {
  const creds = await createClient();
  const first = decodeJwt((await tokenFor(creds)).json().access_token);
  const second = decodeJwt((await tokenFor(creds)).json().access_token);
  t.type(first.jti, "string");
  t.not(first.jti, second.jti);
});

t.test("the media type is matched case-insensitively and may carry a charset (RFC 9110 §8.3.1)", async (t) => {
  const { clientId, clientSecret } = await createClient();
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "Application/X-WWW-Form-Urlencoded; charset=UTF-8", authorization: basic(clientId, clientSecret) },
    payload: form({ grant_type: "client_credentials" }),
  });
  t.equal(res.statusCode, 200);
  t.equal(decodeJwt(res.json().access_token).sub, clientId);
});

t.test("scope", async (t) => {
  t.test("none requested: every allowed scope is granted", async (t) => {
    const creds = await createClient({ scopes: ["read", "write", "delete"] });
    const res = await tokenFor(creds);
    t.equal(res.statusCode, 200);
    t.same(sortedScope(res.json().scope), ["delete", "read", "write"]);
    t.same(sortedScope(decodeJwt(res.json().access_token).scope), ["delete", "read", "write"]);
  });

  t.test("an empty scope parameter counts as none requested (RFC 6749 §3.2)", async (t) => {
    const res = await tokenFor(await createClient({ scopes: ["read", "write"] }), { scope: "" });
    t.equal(res.statusCode, 200);
    t.same(sortedScope(res.json().scope), ["read", "write"]);
  });

  t.test("one allowed scope requested: exactly that one", async (t) => {
    const res = await tokenFor(await createClient({ scopes: ["read", "write", "delete"] }), { scope: "write" });
    t.equal(res.statusCode, 200);
    t.equal(res.json().scope, "write");
    t.equal(decodeJwt(res.json().access_token).scope, "write");
  });

  t.test("several allowed scopes requested: exactly those", async (t) => {
    const res = await tokenFor(await createClient({ scopes: ["read", "write", "delete"] }), { scope: "delete read" });
    t.equal(res.statusCode, 200);
    t.same(sortedScope(res.json().scope), ["delete", "read"]);
    t.same(sortedScope(decodeJwt(res.json().access_token).scope), ["delete", "read"]);
  });

  t.test("a client with no allowed scopes gets a token without a scope claim", async (t) => {
    const res = await tokenFor(await createClient({ scopes: [] }));
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.notOk("scope" in body, "no scope in the response");
    const claims = decodeJwt(body.access_token);
    t.notOk("scope" in claims, "no scope claim");
    t.equal(claims.aud, API);
  });
});

t.test("audience", async (t) => {
  t.test("without resource or audience: the client's first (default) audience", async (t) => {
    const creds = await createClient({ audiences: [OTHER, API] });
    const res = await tokenFor(creds);
    t.equal(res.statusCode, 200);
    t.equal(decodeJwt(res.json().access_token).aud, OTHER);
  });

  t.test("resource picks a registered audience (RFC 8707)", async (t) => {
    const res = await tokenFor(await createClient(), { resource: OTHER });
    t.equal(res.statusCode, 200);
    t.equal(decodeJwt(res.json().access_token).aud, OTHER);
  });

  t.test("audience picks a registered audience", async (t) => {
    const res = await tokenFor(await createClient(), { audience: OTHER });
    t.equal(res.statusCode, 200);
    t.equal(decodeJwt(res.json().access_token).aud, OTHER);
  });

  t.test("resource naming the default audience gives that audience", async (t) => {
    const res = await tokenFor(await createClient(), { resource: API });
    t.equal(res.statusCode, 200);
    t.equal(decodeJwt(res.json().access_token).aud, API);
  });

  t.test("resource repeated with two registered values gives an aud array of both (RFC 8707 §2)", async (t) => {
    const res = await tokenFor(await createClient(), { resource: [OTHER, API] });
    t.equal(res.statusCode, 200);
    const { aud } = decodeJwt(res.json().access_token);
    t.ok(Array.isArray(aud), "aud is an array");
    t.same([aud].flat().sort(), [API, OTHER]);
  });

  // RFC 6749 §3.2: "Parameters sent without a value MUST be treated as if they were omitted".
  t.test("an empty resource parameter counts as omitted: default audience", async (t) => {
    const res = await tokenFor(await createClient(), { resource: "" });
    t.equal(res.statusCode, 200);
    t.equal(audienceOf(res.json()), API);
  });

  t.test("an empty audience parameter counts as omitted: default audience", async (t) => {
    const res = await tokenFor(await createClient(), { audience: "" });
    t.equal(res.statusCode, 200);
    t.equal(audienceOf(res.json()), API);
  });
});

t.test("token lifetime", async (t) => {
  t.test("a per-client tokenTtlSeconds sets expires_in and exp - iat", async (t) => {
    const res = await tokenFor(await createClient({ tokenTtlSeconds: 600 }));
    t.equal(res.statusCode, 200);
    t.equal(res.json().expires_in, 600);
    const claims = decodeJwt(res.json().access_token);
    t.equal(claims.iat, nowSeconds());
    t.equal(claims.exp! - claims.iat!, 600);
  });

  t.test("ACCESS_TOKEN_TTL sets the default; the per-client override still wins", async (t) => {
    const other = await buildTestApp(t, { ACCESS_TOKEN_TTL: "5m" });
    const request = async (creds: Creds) =>
      other.app.inject({
        method: "POST",
        url: "/token",
        headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
        payload: form({ grant_type: "client_credentials" }),
      });
    const plain = await request(await other.createClient());
    t.equal(plain.json().expires_in, 300);
    const plainClaims = decodeJwt(plain.json().access_token);
    t.equal(plainClaims.exp! - plainClaims.iat!, 300);

    const custom = await request(await other.createClient({ tokenTtlSeconds: 42 }));
    t.equal(custom.json().expires_in, 42);
    const customClaims = decodeJwt(custom.json().access_token);
    t.equal(customClaims.exp! - customClaims.iat!, 42);
  });

  t.test("iat and exp follow the injected clock", async (t) => {
    const creds = await createClient();
    clock.advance(3600);
    const claims = decodeJwt((await tokenFor(creds)).json().access_token);
    t.equal(claims.iat, nowSeconds());
    t.equal(claims.exp, nowSeconds() + 900);
  });
});

t.test("unknown parameters are ignored (RFC 6749 §3.2)", async (t) => {
  const creds = await createClient();
  const params = form({
    grant_type: "client_credentials",
    foo: "bar",
    state: "xyz",
    redirect_uri: "https://client.example.test/cb",
    code_verifier: "abc",
    nonce: ["1", "2"],
  });
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: `${params}&__proto__=x&constructor=y&toString=z`,
  });
  t.equal(res.statusCode, 200);
  t.same(Object.keys(res.json()).sort(), ["access_token", "expires_in", "scope", "token_type"]);
  const claims = decodeJwt(res.json().access_token);
  t.equal(claims.sub, creds.clientId);
  t.notOk("foo" in claims, "unknown parameters do not reach the token");
  t.notOk("state" in claims, "unknown parameters do not reach the token");
});

t.test("every signing key gone from the database (deleted by hand): 503 temporarily_unavailable, never a 500", async (t) => {
  const keysGone = await buildTestApp(t, { CACHE_REFRESH: "1h" }); // no background reload: only requests notice
  const { db } = keysGone.app.services;
  const request = (creds: Creds) =>
    keysGone.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form({ grant_type: "client_credentials" }) });
  const creds = await keysGone.createClient();
  t.equal((await request(creds)).statusCode, 200);
  await db.signingKey.deleteMany({});
  // Past the key's stored bound, a token needs it raised: the raise finds no key, the ring reloads.
  keysGone.clock.advance(LEASE_AHEAD_SECONDS + 1);
  const NO_KEY = { error: "temporarily_unavailable", error_description: "no active signing key" };
  const raised = await request(creds);
  t.equal(raised.statusCode, 503, "when the raise finds the key gone");
  t.same(raised.json(), NO_KEY);
  t.equal(keysGone.app.services.keys.signer, null, "the ring has reloaded: no key");
  // With no key in memory, refused before anything is written: no status-list block for a new client.
  const late = await keysGone.createClient();
  const refused = await request(late);
  t.equal(refused.statusCode, 503);
  t.same(refused.json(), NO_KEY);
  t.equal(await db.statusListBlock.count({ where: { clientId: late.clientId } }), 0, "nothing reserved");
  t.equal((await keysGone.app.inject({ method: "GET", url: "/readyz" })).statusCode, 503, "not ready");
});
