// POST /introspect (RFC 7662): who may see which token, the exact active answers for access and
// refresh tokens, and the exact inactive answer {"active":false} for tokens that expired, were
// revoked or rotated, or are not the requester's to see; error answers as at /token.
// Crafted and hostile tokens are in introspection.hostile-tokens.test.ts.
import t, { type Test } from "tap";
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { signAccessToken } from "../../../src/domain/tokens/access-token.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const API = "https://api.example.test";
const OTHER = "https://other.example.test";
const UNRELATED = "https://unrelated.example.test";
const DAY = 24 * 3600;

type Creds = { clientId: string; clientSecret: string };
type Pair = { access_token: string; refresh_token: string };

const { app, clock, createClient } = await buildTestApp(t);

const svc = await createClient({ scopes: ["read", "write"], audiences: [API, OTHER] });
const unscoped = await createClient({ scopes: [], audiences: [API] });
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API, OTHER] });
const web2 = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API, OTHER] });
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });
const unrelatedServer = await createClient({ canIntrospect: true, audiences: [UNRELATED] });
const peer = await createClient({ audiences: [API, OTHER] }); // same audiences, no introspect permission
const alice = await app.services.users.create("alice", "alice-password-1");

const post = (url: string, creds: Creds, params: Record<string, string | string[]>): Promise<LightMyRequestResponse> =>
  app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

const introspectRequest = (creds: Creds, token: string, params: Record<string, string> = {}) => post("/introspect", creds, { token, ...params });

/** A 200 JSON answer that is never cached; returns the parsed body. */
function answer(t: Test, res: LightMyRequestResponse): Record<string, unknown> {
  t.equal(res.statusCode, 200, `200 (answer: ${res.body})`);
  t.equal(res.headers["cache-control"], "no-store", "no-store");
  t.match(res.headers["content-type"], /^application\/json/);
  return res.json();
}

/** RFC 7662 §2.2: the inactive answer is {"active":false} and nothing else. */
async function assertInactive(t: Test, creds: Creds, token: string, params: Record<string, string> = {}): Promise<void> {
  const res = await introspectRequest(creds, token, params);
  t.strictSame(answer(t, res), { active: false }, "exactly {active:false}");
  t.equal(res.body, '{"active":false}');
}

async function assertActive(t: Test, creds: Creds, token: string, params: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const body = answer(t, await introspectRequest(creds, token, params));
  t.equal(body.active, true, "active");
  return body;
}

async function accessToken(creds: Creds = svc, params: Record<string, string | string[]> = {}): Promise<string> {
  const res = await post("/token", creds, { grant_type: "client_credentials", ...params });
  if (res.statusCode !== 200) throw new Error(`client_credentials failed: ${res.body}`);
  return res.json().access_token;
}

async function signIn(creds: Creds = web): Promise<Pair> {
  const res = await post("/token", creds, { grant_type: "password", username: "alice", password: "alice-password-1" });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  return res.json();
}

async function rotate(creds: Creds, refreshToken: string): Promise<Pair> {
  const res = await post("/token", creds, { grant_type: "refresh_token", refresh_token: refreshToken });
  if (res.statusCode !== 200) throw new Error(`rotation failed: ${res.body}`);
  return res.json();
}

const nowSeconds = () => Math.floor(clock.now() / 1000);

t.test("who may introspect an access token", async (t) => {
  t.test("the client it was issued to: every claim comes back, token_type Bearer", async (t) => {
    const token = await accessToken();
    const claims = decodeJwt(token);
    const body = await assertActive(t, svc, token);
    t.strictSame(body, {
      active: true,
      scope: "read write",
      client_id: svc.clientId,
      sub: svc.clientId,
      aud: API,
      iss: ISSUER,
      exp: nowSeconds() + 900,
      iat: nowSeconds(),
      jti: claims.jti,
      token_type: "Bearer",
    });
  });

  t.test("by client_secret_post", async (t) => {
    const token = await accessToken();
    const res = await app.inject({
      method: "POST",
      url: "/introspect",
      headers: FORM,
      payload: form({ token, client_id: svc.clientId, client_secret: svc.clientSecret }),
    });
    t.equal(answer(t, res).active, true);
  });

  t.test("a token without scope: no scope member", async (t) => {
    const token = await accessToken(unscoped);
    const body = await assertActive(t, unscoped, token);
    t.notOk("scope" in body, "no scope");
    t.equal(body.client_id, unscoped.clientId);
  });

  t.test("a token for several audiences: aud is the list", async (t) => {
    const token = await accessToken(svc, { resource: [API, OTHER] });
    t.strictSame((await assertActive(t, svc, token)).aud, [API, OTHER]);
    t.strictSame((await assertActive(t, apiServer, token)).aud, [API, OTHER], "a resource server for one of them sees it");
  });

  t.test("a resource server (canIntrospect) for the token's audience sees what the owner sees", async (t) => {
    const token = await accessToken(svc, { resource: API });
    const owner = await assertActive(t, svc, token);
    t.strictSame(await assertActive(t, apiServer, token), owner);
  });

  t.test("a resource server for other audiences gets {active:false}", async (t) => {
    await assertInactive(t, unrelatedServer, await accessToken(svc, { resource: API }));
    await assertInactive(t, apiServer, await accessToken(svc, { resource: OTHER }));
  });

  t.test("a client without the introspect permission gets {active:false}, even for its own audience", async (t) => {
    const token = await accessToken(svc, { resource: API });
    await assertInactive(t, peer, token);
    await assertInactive(t, web, token);
  });

  t.test("a user's access token: sub is the user, client_id the first-party client", async (t) => {
    const pair = await signIn();
    const body = await assertActive(t, web, pair.access_token);
    t.strictSame(body, {
      active: true,
      scope: "read write",
      client_id: web.clientId,
      sub: alice.id,
      aud: API,
      iss: ISSUER,
      exp: nowSeconds() + 900,
      iat: nowSeconds(),
      jti: decodeJwt(pair.access_token).jti,
      token_type: "Bearer",
    });
    t.equal((await assertActive(t, apiServer, pair.access_token)).sub, alice.id, "the resource server sees it too");
    await assertInactive(t, web2, pair.access_token);
  });
});

t.test("a DPoP-bound access token: token_type DPoP and cnf.jkt, to whoever may see it (RFC 9449 §6.2)", async (t) => {
  const jkt = await calculateJwkThumbprint(await exportJWK((await generateKeyPair("ES256")).publicKey));
  const signed = await signAccessToken(app.services, {
    grantType: "client_credentials", subject: svc.clientId, client: app.services.clients.get(svc.clientId)!, scope: ["read"], audience: API, jkt,
  });
  const token = signed.response.access_token;
  t.strictSame(decodeJwt(token).cnf, { jkt }, "the token carries it (access-token.ts)");
  const body = await assertActive(t, svc, token);
  t.strictSame(body, {
    active: true,
    scope: "read",
    client_id: svc.clientId,
    sub: svc.clientId,
    aud: API,
    iss: ISSUER,
    exp: nowSeconds() + 900,
    iat: nowSeconds(),
    jti: signed.jti,
    token_type: "DPoP",
    cnf: { jkt },
  });
  t.strictSame(await assertActive(t, apiServer, token), body, "the resource server gets the key to check proofs against");
  await assertInactive(t, peer, token);
});

t.test("who may introspect a refresh token", async (t) => {
  t.test("the client it was issued to: no token_type (RFC 7662 §2.2 means RFC 6749 §7.1 types), no jti, exp at the idle expiry", async (t) => {
    const pair = await signIn();
    const body = await assertActive(t, web, pair.refresh_token);
    t.strictSame(body, {
      active: true,
      scope: "read write",
      client_id: web.clientId,
      sub: alice.id,
      aud: API,
      iss: ISSUER,
      exp: nowSeconds() + 7 * DAY,
      iat: nowSeconds(),
    });
  });

  t.test("signed in for several audiences (resource twice): aud is the list", async (t) => {
    const res = await post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1", resource: [API, OTHER] });
    t.equal(res.statusCode, 200, res.body);
    const body = await assertActive(t, web, res.json().refresh_token);
    t.strictSame(body.aud, [API, OTHER]);
  });

  t.test("another client without the permission gets {active:false}", async (t) => {
    const pair = await signIn();
    await assertInactive(t, web2, pair.refresh_token);
    await assertInactive(t, peer, pair.refresh_token);
    await assertInactive(t, unrelatedServer, pair.refresh_token);
  });

  t.test("a resource server (canIntrospect) for its audience gets {active:false}: refresh tokens never go to resource servers", async (t) => {
    const pair = await signIn();
    await assertActive(t, apiServer, pair.access_token);
    await assertInactive(t, apiServer, pair.refresh_token);
    await assertInactive(t, apiServer, pair.refresh_token, { token_type_hint: "refresh_token" });
  });
});

t.test("token_type_hint is a hint only (RFC 7662 §2.1)", async (t) => {
  const token = await accessToken();
  const pair = await signIn();
  for (const hint of ["access_token", "refresh_token", "id_token"]) {
    t.test(`hint ${hint}`, async (t) => {
      t.equal((await assertActive(t, svc, token, { token_type_hint: hint })).token_type, "Bearer");
      t.notOk("token_type" in (await assertActive(t, web, pair.refresh_token, { token_type_hint: hint })), "no token_type for a refresh token");
    });
  }
});

t.test("inactive access tokens", async (t) => {
  t.test("expired: active until one second before exp, {active:false} from exp on", async (t) => {
    const token = await accessToken();
    clock.advance(899);
    await assertActive(t, svc, token);
    clock.advance(1);
    await assertInactive(t, svc, token);
    clock.advance(1);
    await assertInactive(t, svc, token);
    await assertInactive(t, apiServer, token);
  });

  t.test("revoked (blocklisted)", async (t) => {
    const token = await accessToken();
    const res = await post("/revoke", svc, { token });
    t.equal(res.statusCode, 200);
    await assertInactive(t, svc, token);
    await assertInactive(t, apiServer, token);
    await assertInactive(t, svc, token, { token_type_hint: "refresh_token" });
  });

  t.test("blocklisted because its family was revoked", async (t) => {
    const pair = await signIn();
    t.equal((await post("/revoke", web, { token: pair.refresh_token })).statusCode, 200);
    await assertInactive(t, web, pair.access_token);
    await assertInactive(t, apiServer, pair.access_token);
  });
});

t.test("inactive refresh tokens", async (t) => {
  t.test("rotated: the old one is inactive, the new one active", async (t) => {
    const first = await signIn();
    const second = await rotate(web, first.refresh_token);
    await assertInactive(t, web, first.refresh_token);
    await assertActive(t, web, second.refresh_token);
  });

  t.test("revoked by /revoke", async (t) => {
    const pair = await signIn();
    t.equal((await post("/revoke", web, { token: pair.refresh_token })).statusCode, 200);
    await assertInactive(t, web, pair.refresh_token);
  });

  t.test("its user disabled: inactive, as /token would refuse it; active again once re-enabled", async (t) => {
    const pair = await signIn();
    await app.services.users.setEnabled("alice", false);
    await assertInactive(t, web, pair.refresh_token);
    await app.services.users.setEnabled("alice", true);
    await assertActive(t, web, pair.refresh_token);
  });

  t.test("revoked by /logout", async (t) => {
    const pair = await signIn();
    const res = await app.inject({ method: "POST", url: "/logout", payload: { refresh_token: pair.refresh_token } });
    t.equal(res.statusCode, 200);
    await assertInactive(t, web, pair.refresh_token);
    await assertInactive(t, web, pair.access_token);
  });

  t.test("revoked by reuse detection: the newest token of the family dies too", async (t) => {
    const first = await signIn();
    const second = await rotate(web, first.refresh_token);
    // 2 s on: a replay, not a request concurrent with the rotation (CONCURRENT_USE_WINDOW_MS)
    clock.advance(2);
    const reuse = await post("/token", web, { grant_type: "refresh_token", refresh_token: first.refresh_token });
    t.equal(reuse.statusCode, 400);
    await assertInactive(t, web, second.refresh_token);
    await assertInactive(t, web, second.access_token);
  });

  t.test("idle expiry (7 days without use)", async (t) => {
    const pair = await signIn();
    clock.advance(7 * DAY - 1);
    await assertActive(t, web, pair.refresh_token);
    clock.advance(1);
    await assertInactive(t, web, pair.refresh_token);
  });

  t.test("absolute expiry (30 days after sign-in), however often it was used", async (t) => {
    const signedIn = nowSeconds();
    let pair = await signIn();
    for (let day = 6; day <= 24; day += 6) {
      clock.advance(6 * DAY);
      pair = await rotate(web, pair.refresh_token);
    }
    clock.advance(5 * DAY); // day 29: a fresh token, yet only one day left
    pair = await rotate(web, pair.refresh_token);
    const body = await assertActive(t, web, pair.refresh_token);
    t.equal(body.exp, signedIn + 30 * DAY, "exp is the family's end, not the idle expiry");
    t.equal(body.iat, nowSeconds());
    clock.advance(DAY);
    await assertInactive(t, web, pair.refresh_token);
  });
});

t.test("errors", async (t) => {
  t.test("a wrong client secret: 401 invalid_client with a Basic challenge", async (t) => {
    const token = await accessToken();
    expectOAuthError(t, await introspectRequest({ clientId: svc.clientId, clientSecret: "wrong" }, token), 401, "invalid_client");
  });

  t.test("an unknown client: 401 invalid_client", async (t) => {
    expectOAuthError(t, await introspectRequest({ clientId: "nobody", clientSecret: "nothing" }, "abc"), 401, "invalid_client");
  });

  t.test("no client authentication: 401 invalid_client", async (t) => {
    const token = await accessToken();
    expectOAuthError(t, await app.inject({ method: "POST", url: "/introspect", headers: FORM, payload: form({ token }) }), 401, "invalid_client");
  });

  t.test("a wrong secret by client_secret_post: 401 invalid_client", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/introspect",
      headers: FORM,
      payload: form({ token: "abc", client_id: apiServer.clientId, client_secret: "wrong" }),
    });
    expectOAuthError(t, res, 401, "invalid_client");
  });

  t.test("a disabled resource server: 401 invalid_client", async (t) => {
    const server = await createClient({ canIntrospect: true, audiences: [API] });
    const token = await accessToken(svc, { resource: API });
    await assertActive(t, server, token);
    await app.services.clientAdmin.update(server.clientId, { enabled: false });
    expectOAuthError(t, await introspectRequest(server, token), 401, "invalid_client");
  });

  t.test("missing token: 400 invalid_request", async (t) => {
    expectOAuthError(t, await post("/introspect", svc, { token_type_hint: "access_token" }), 400, "invalid_request");
  });

  t.test("an empty token counts as missing (RFC 6749 §3.1): 400 invalid_request", async (t) => {
    expectOAuthError(t, await post("/introspect", svc, { token: "" }), 400, "invalid_request");
  });

  t.test("a repeated token: 400 invalid_request", async (t) => {
    const token = await accessToken();
    expectOAuthError(t, await post("/introspect", svc, { token: [token, token] }), 400, "invalid_request");
  });

  t.test("a JSON body: 400 invalid_request", async (t) => {
    const token = await accessToken();
    const res = await app.inject({
      method: "POST",
      url: "/introspect",
      headers: { authorization: basic(svc.clientId, svc.clientSecret) },
      payload: { token },
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });
});

t.test("metadata names the introspection endpoint, which is this one (RFC 8414 §2)", async (t) => {
  const metadata = (await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json();
  t.equal(metadata.introspection_endpoint, `${ISSUER}/introspect`);
  t.strictSame(metadata.introspection_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "private_key_jwt"]);
  const token = await accessToken();
  const res = await post(new URL(metadata.introspection_endpoint).pathname, svc, { token });
  t.equal(answer(t, res).active, true);
});
