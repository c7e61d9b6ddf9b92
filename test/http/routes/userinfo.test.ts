// GET|POST /userinfo (OpenID Connect Core §5.3, RFC 6750): sub always, profile → name and
// preferred_username, email → email and email_verified; the token in the header or (POST) the form
// body; every RFC 6750 §3 error with its exact status, body and WWW-Authenticate.
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { decodeJwt } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { issueCode } from "../../helpers/code-flow.js";
import { FORM } from "../../helpers/oauth.js";
import { DPOP_SIGNING_ALGS } from "../../../src/crypto/dpop.js";

const CALLBACK = "https://app.example.test/callback";
const API = "https://api.example.test";

const { app, clock, createClient } = await buildTestApp(t, { CORS_ORIGINS: "https://spa.example.test" });
const rp = await createClient({ grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], scopes: ["openid", "profile", "email", "read"], audiences: [API] });
const alice = await app.services.users.create("alice", "alice-password-1", "test", { name: "Alice Liddell", email: "alice@example.test", email_verified: true });
const bob = await app.services.users.create("bob", "bob-password-1"); // no name, no email

/** An access token for `userId` with `scope`, from a real code exchange. */
async function accessToken(scope: string[], userId = alice.id): Promise<string> {
  const issued = await issueCode(app, userId, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope });
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(rp.clientId, rp.clientSecret) },
    payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK }),
  });
  return (res.json() as { access_token: string }).access_token;
}

const getInfo = (headers: Record<string, string> = {}, url = "/userinfo") => app.inject({ method: "GET", url, headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectClaims(t: Test, res: LightMyRequestResponse, claims: Record<string, unknown>) {
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers["cache-control"], "no-store");
  t.match(res.headers["content-type"], /^application\/json/);
  t.same(res.json(), claims, "exactly these claims");
}

/** An RFC 6750 §3 error: status, challenge, and the OAuth error body with no-store. */
function expectBearerError(t: Test, res: LightMyRequestResponse, status: number, error: string, challenge: string) {
  t.equal(res.statusCode, status, "status");
  t.equal(res.headers["www-authenticate"], challenge, "WWW-Authenticate");
  t.equal(res.headers["cache-control"], "no-store");
  t.equal((res.json() as { error: string }).error, error);
  t.same(Object.keys(res.json() as object).filter((k) => k !== "error" && k !== "error_description"), []);
}

const INVALID_TOKEN = 'Bearer realm="tessera", error="invalid_token"';
const INVALID_REQUEST = 'Bearer realm="tessera", error="invalid_request"';
// RFC 9449 §7.2: no credentials, a challenge for each scheme (the DPoP one with the proof algorithms).
const NO_CREDENTIALS = `Bearer realm="tessera", DPoP realm="tessera", algs="${DPOP_SIGNING_ALGS.join(" ")}"`;

t.test("scopes → claims", async (t) => {
  expectClaims(t, await getInfo(bearer(await accessToken(["openid"]))), { sub: alice.id });
  expectClaims(t, await getInfo(bearer(await accessToken(["openid", "profile"]))), { sub: alice.id, name: "Alice Liddell", preferred_username: "alice" });
  expectClaims(t, await getInfo(bearer(await accessToken(["openid", "email"]))), { sub: alice.id, email: "alice@example.test", email_verified: true });
  expectClaims(t, await getInfo(bearer(await accessToken(["openid", "profile", "email", "read"]))), {
    sub: alice.id,
    name: "Alice Liddell",
    preferred_username: "alice",
    email: "alice@example.test",
    email_verified: true,
  });
  // A user without a name or email: those claims are left out, never null.
  expectClaims(t, await getInfo(bearer(await accessToken(["openid", "profile", "email"], bob.id))), { sub: bob.id, preferred_username: "bob" });
});

t.test("the claims are read now: a changed profile shows at once", async (t) => {
  const token = await accessToken(["openid", "email"]);
  await app.services.users.update(alice.id, { email: "alice@new.example.test" });
  expectClaims(t, await getInfo(bearer(token)), { sub: alice.id, email: "alice@new.example.test", email_verified: false });
  await app.services.users.update(alice.id, { email: "alice@example.test", email_verified: true });
});

t.test("POST: the header, or the form parameter access_token (RFC 6750 §2.2)", async (t) => {
  const token = await accessToken(["openid", "profile"]);
  const claims = { sub: alice.id, name: "Alice Liddell", preferred_username: "alice" };
  expectClaims(t, await app.inject({ method: "POST", url: "/userinfo", headers: bearer(token) }), claims);
  expectClaims(t, await app.inject({ method: "POST", url: "/userinfo", headers: FORM, payload: form({ access_token: token }) }), claims);
  const both = await app.inject({ method: "POST", url: "/userinfo", headers: { ...FORM, ...bearer(token) }, payload: form({ access_token: token }) });
  expectBearerError(t, both, 400, "invalid_request", INVALID_REQUEST);
  const json = await app.inject({ method: "POST", url: "/userinfo", headers: { "content-type": "application/json" }, payload: { access_token: token } });
  expectBearerError(t, json, 400, "invalid_request", INVALID_REQUEST);
});

t.test("RFC 6750 §3 errors", async (t) => {
  t.test("no token: 401 with bare Bearer and DPoP challenges (no error code)", async (t) => {
    expectBearerError(t, await getInfo(), 401, "invalid_token", NO_CREDENTIALS);
    expectBearerError(t, await app.inject({ method: "POST", url: "/userinfo" }), 401, "invalid_token", NO_CREDENTIALS);
    expectBearerError(t, await getInfo({ authorization: basic(rp.clientId, rp.clientSecret) }), 401, "invalid_token", NO_CREDENTIALS);
  });
  t.test("a token in the query is refused, not read", async (t) => {
    const token = await accessToken(["openid"]);
    expectBearerError(t, await getInfo({}, `/userinfo?access_token=${token}`), 400, "invalid_request", INVALID_REQUEST);
  });
  t.test("a malformed header: 400 invalid_request", async (t) => {
    expectBearerError(t, await getInfo({ authorization: "Bearer a b" }), 400, "invalid_request", INVALID_REQUEST);
  });
  t.test("forged, garbage and expired tokens: 401 invalid_token", async (t) => {
    const token = await accessToken(["openid"]);
    const [h, p] = token.split(".");
    expectBearerError(t, await getInfo(bearer(`${h}.${p}.${"A".repeat(342)}`)), 401, "invalid_token", INVALID_TOKEN);
    expectBearerError(t, await getInfo(bearer("not-a-jwt")), 401, "invalid_token", INVALID_TOKEN);
    clock.advance(3601);
    expectBearerError(t, await getInfo(bearer(token)), 401, "invalid_token", INVALID_TOKEN);
  });
  t.test("an ID token is not an access token (typ JWT, not at+jwt): 401 invalid_token", async (t) => {
    const issued = await issueCode(app, alice.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["openid"] });
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(rp.clientId, rp.clientSecret) },
      payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK }),
    });
    const { id_token: idToken } = res.json() as { id_token: string };
    expectBearerError(t, await getInfo(bearer(idToken)), 401, "invalid_token", INVALID_TOKEN);
  });
  t.test("a revoked token: 401 invalid_token", async (t) => {
    const token = await accessToken(["openid"]);
    const revoked = await app.inject({ method: "POST", url: "/revoke", headers: { ...FORM, authorization: basic(rp.clientId, rp.clientSecret) }, payload: form({ token }) });
    t.equal(revoked.statusCode, 200);
    expectBearerError(t, await getInfo(bearer(token)), 401, "invalid_token", INVALID_TOKEN);
  });
  t.test("a disabled user: 401 invalid_token; enabled again, it works", async (t) => {
    const token = await accessToken(["openid"], bob.id);
    await app.services.users.setEnabled("bob", false);
    expectBearerError(t, await getInfo(bearer(token)), 401, "invalid_token", INVALID_TOKEN);
    await app.services.users.setEnabled("bob", true);
    expectClaims(t, await getInfo(bearer(token)), { sub: bob.id });
  });
  t.test("without scope openid: 403 insufficient_scope naming openid", async (t) => {
    const token = await accessToken(["profile", "read"]);
    expectBearerError(t, await getInfo(bearer(token)), 403, "insufficient_scope", 'Bearer realm="tessera", error="insufficient_scope", scope="openid"');
  });
  t.test("a token granted no scope at all (no scope claim): 403 insufficient_scope naming openid", async (t) => {
    const token = await accessToken([]);
    t.notOk("scope" in decodeJwt(token), "no scope claim");
    expectBearerError(t, await getInfo(bearer(token)), 403, "insufficient_scope", 'Bearer realm="tessera", error="insufficient_scope", scope="openid"');
  });
  t.test("a client-credentials token with scope openid has no user: 401 invalid_token", async (t) => {
    const machine = await createClient({ scopes: ["openid"] });
    const res = await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(machine.clientId, machine.clientSecret) }, payload: form({ grant_type: "client_credentials", scope: "openid" }) });
    t.equal(res.statusCode, 200, res.body);
    expectBearerError(t, await getInfo(bearer((res.json() as { access_token: string }).access_token)), 401, "invalid_token", INVALID_TOKEN);
  });
});

t.test("CORS: a listed origin may call it with a Bearer token and read the challenge", async (t) => {
  const res = await app.inject({
    method: "OPTIONS",
    url: "/userinfo",
    headers: { origin: "https://spa.example.test", "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
  });
  t.equal(res.statusCode, 204);
  t.equal(res.headers["access-control-allow-origin"], "https://spa.example.test");
  t.equal(res.headers["access-control-allow-methods"], "GET, POST");
  t.equal(res.headers["access-control-allow-headers"], "Authorization, Content-Type, DPoP");
  t.notOk(res.headers["access-control-allow-credentials"]);
  const token = await accessToken(["openid"]);
  const get = await getInfo({ ...bearer(token), origin: "https://spa.example.test" });
  t.equal(get.headers["access-control-expose-headers"], "WWW-Authenticate, DPoP-Nonce");
});
