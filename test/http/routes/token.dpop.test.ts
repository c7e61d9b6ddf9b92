// POST /token with DPoP proofs (RFC 9449 §5): each check of §4.3 as /token answers it (a JSON 400
// invalid_dpop_proof, §5; no WWW-Authenticate, which is for resource servers, §7.1), key-bound access
// tokens (cnf.jkt, token_type DPoP) for every grant, a public client's refresh tokens bound to its key,
// per-client dpop_bound_access_tokens, and DPOP_NONCE. The proof checks one by one: test/crypto/dpop.test.ts.
import { randomBytes } from "node:crypto";
import t, { type Test } from "tap";
import { decodeJwt, SignJWT, exportJWK, generateKeyPair } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { DPOP_SIGNING_ALGS } from "../../../src/crypto/dpop.js";
import { basic, buildTestApp, form, type TestApp } from "../../helpers/app.js";
import { issueCode } from "../../helpers/code-flow.js";
import { dpopKey, dpopProof, unsignedJws, type DpopKeyPair, type ProofClaims } from "../../helpers/dpop.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const CALLBACK = "https://app.example.test/callback";
const HTU = "https://tessera.test/token";

type Creds = { clientId: string; clientSecret: string };

/** A test app with the calls the tests make: POST /token as a client, with any DPoP header(s). */
function tokenCalls(built: TestApp) {
  const { app, clock } = built;
  const nowSeconds = () => clock.now() / 1000;
  const proof = (key: DpopKeyPair, claims: ProofClaims = {}, header: Record<string, unknown> = {}) => dpopProof(key, { nowSeconds: nowSeconds(), htu: HTU, ...claims }, header);
  const token = (creds: Creds, params: Record<string, string>, dpop?: string | string[]) =>
    app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, ...(creds.clientSecret && { authorization: basic(creds.clientId, creds.clientSecret) }), ...(dpop !== undefined && { dpop }) },
      payload: form({ ...params, ...(!creds.clientSecret && { client_id: creds.clientId }) }),
    });
  return { proof, token, nowSeconds };
}

/** A 200 whose access token is bound to `key`: token_type DPoP and cnf.jkt (or Bearer and no cnf for null). */
function expectBound(t: Test, res: LightMyRequestResponse, key: DpopKeyPair | null) {
  t.equal(res.statusCode, 200, res.statusCode === 200 ? "issued" : `answer: ${res.body}`);
  const body = res.json();
  t.equal(body.token_type, key ? "DPoP" : "Bearer");
  t.same(decodeJwt(body.access_token).cnf, key ? { jkt: key.jkt } : undefined, key ? "cnf.jkt is the proof key's thumbprint" : "no cnf");
  return body as { access_token: string; refresh_token?: string };
}

/** invalid_dpop_proof as /token answers it: a JSON 400 (RFC 9449 §5), without a challenge. */
function expectInvalidProof(t: Test, res: LightMyRequestResponse, why: RegExp) {
  expectOAuthError(t, res, 400, "invalid_dpop_proof");
  t.match(res.json().error_description, why);
  t.equal(res.headers["www-authenticate"], undefined, "no WWW-Authenticate at /token");
}

const built = await buildTestApp(t);
const { app, clock, createClient } = built;
const { proof, token, nowSeconds } = tokenCalls(built);
const service = await createClient({ audiences: [API] });
const key = await dpopKey("ES256");
const cc = { grant_type: "client_credentials" };

t.test("metadata advertises dpop_signing_alg_values_supported: asymmetric algs only", async (t) => {
  const doc = (await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json();
  t.same(doc.dpop_signing_alg_values_supported, [...DPOP_SIGNING_ALGS]);
  const openid = (await app.inject({ method: "GET", url: "/.well-known/openid-configuration" })).json();
  t.same(openid.dpop_signing_alg_values_supported, [...DPOP_SIGNING_ALGS]);
});

t.test("client_credentials with a proof: cnf.jkt and token_type DPoP; without one: Bearer", async (t) => {
  expectBound(t, await token(service, cc, await proof(key)), key);
  for (const alg of ["PS256", "EdDSA"]) {
    const other = await dpopKey(alg);
    expectBound(t, await token(service, cc, await proof(other)), other);
  }
  expectBound(t, await token(service, cc), null);
});

t.test("§4.3 check 1: more than one DPoP header is refused", async (t) => {
  expectInvalidProof(t, await token(service, cc, [await proof(key), await proof(key)]), /more than one DPoP header/);
});

t.test("§4.3 check 2: a header that is not one compact JWS is refused", async (t) => {
  expectInvalidProof(t, await token(service, cc, "not-a-jwt"), /not a single compact JWS/);
  expectInvalidProof(t, await token(service, cc, ""), /not a single compact JWS/);
});

t.test("§4.3 check 4: typ other than dpop+jwt is refused", async (t) => {
  expectInvalidProof(t, await token(service, cc, await proof(key, {}, { typ: "JWT" })), /typ must be dpop\+jwt/);
});

t.test("§4.3 check 5: alg none and HS256 are refused", async (t) => {
  const claims = { htm: "POST", htu: HTU, iat: nowSeconds(), jti: "none-1" };
  expectInvalidProof(t, await token(service, cc, unsignedJws({ alg: "none", typ: "dpop+jwt", jwk: key.publicJwk }, claims)), /alg must be one of/);
  const hs256 = await new SignJWT({ ...claims, jti: "hs-1" })
    .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: key.publicJwk } as never)
    .sign(randomBytes(32));
  expectInvalidProof(t, await token(service, cc, hs256), /alg must be one of/);
});

t.test("§4.3 check 7: a jwk with private members is refused, though the signature verifies", async (t) => {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const withPrivate = await new SignJWT({ htm: "POST", htu: HTU, iat: nowSeconds(), jti: "private-1" })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(privateKey) } as never)
    .sign(privateKey);
  expectInvalidProof(t, await token(service, cc, withPrivate), /must be a public key/);
});

t.test("§4.3 check 6: a signature by another key than the jwk is refused", async (t) => {
  const other = await dpopKey("ES256");
  expectInvalidProof(t, await token(service, cc, await proof(key, {}, { jwk: other.publicJwk })), /signature does not verify/);
});

t.test("§4.3 check 8: htm must be POST", async (t) => {
  expectInvalidProof(t, await token(service, cc, await proof(key, { htm: "GET" })), /htm must be POST/);
});

t.test("§4.3 check 9: htu must be the token endpoint; a query or fragment in it is ignored", async (t) => {
  expectInvalidProof(t, await token(service, cc, await proof(key, { htu: "https://tessera.test/userinfo" })), /htu must be https:\/\/tessera.test\/token/);
  expectInvalidProof(t, await token(service, cc, await proof(key, { htu: "https://elsewhere.test/token" })), /htu must be/);
  expectBound(t, await token(service, cc, await proof(key, { htu: `${HTU}?x=1#f` })), key);
  expectBound(t, await token(service, cc, await proof(key, { htu: "HTTPS://TESSERA.test:443/token" })), key);
});

t.test("§4.3 check 11: iat older than the window, or ahead of the clock, is refused", async (t) => {
  const skew = built.config.clockSkewSeconds;
  expectInvalidProof(t, await token(service, cc, await proof(key, { iat: nowSeconds() - 60 - skew - 1 })), /too old/);
  expectInvalidProof(t, await token(service, cc, await proof(key, { iat: nowSeconds() + skew + 1 })), /in the future/);
  expectBound(t, await token(service, cc, await proof(key, { iat: nowSeconds() - 60 - skew })), key);
});

t.test("§4.3 check 12: ath is not looked at by /token (no access token comes with the proof)", async (t) => {
  expectBound(t, await token(service, cc, await proof(key, { ath: "not-the-hash-of-anything" })), key);
});

t.test("§11.1 (jti): the same proof twice is refused the second time", async (t) => {
  const once = await proof(key);
  expectBound(t, await token(service, cc, once), key);
  expectInvalidProof(t, await token(service, cc, once), /used before/);
});

t.test("client authentication comes first: a proof with a failed authentication is not used up", async (t) => {
  const header = await proof(key);
  const failed = await token({ clientId: service.clientId, clientSecret: "wrong" }, cc, header);
  expectOAuthError(t, failed, 401, "invalid_client");
  expectBound(t, await token(service, cc, header), key);
});

t.test("dpop_bound_access_tokens: the client must send a proof", async (t) => {
  const bound = await createClient({ audiences: [API], dpopBoundAccessTokens: true });
  expectInvalidProof(t, await token(bound, cc), /must send a DPoP proof/);
  expectBound(t, await token(bound, cc, await proof(key)), key);
});

t.test("password grant: the access token is bound; the confidential client's refresh token is not", async (t) => {
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API] });
  await app.services.users.create("pat", "pat-password-1");
  const first = expectBound(t, await token(web, { grant_type: "password", username: "pat", password: "pat-password-1" }, await proof(key)), key);
  const other = await dpopKey("ES256");
  const second = expectBound(t, await token(web, { grant_type: "refresh_token", refresh_token: first.refresh_token! }, await proof(other)), other);
  expectBound(t, await token(web, { grant_type: "refresh_token", refresh_token: second.refresh_token! }), null);
});

t.test("authorization_code, confidential client: the access token is bound, the family is not", async (t) => {
  const web = await createClient({ grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API] });
  const user = await app.services.users.create("cora", "cora-password-1");
  const issued = await issueCode(app, user.id, web.clientId, { redirectUri: CALLBACK, audience: [API] });
  const res = await token(web, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK }, await proof(key));
  const body = expectBound(t, res, key);
  const family = await app.services.db.refreshFamily.findFirst({ where: { clientId: web.clientId } });
  t.equal(family?.dpopJkt, null);
  expectBound(t, await token(web, { grant_type: "refresh_token", refresh_token: body.refresh_token! }), null);
});

t.test("a public client's refresh tokens are bound to the key of its code exchange", async (t) => {
  const spa = await createClient({ public: true, grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API] });
  const user = await app.services.users.create("sam", "sam-password-1");
  const issued = await issueCode(app, user.id, spa.clientId, { redirectUri: CALLBACK, audience: [API] });
  const exchange = { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK };
  const first = expectBound(t, await token(spa, exchange, await proof(key)), key);
  const family = await app.services.db.refreshFamily.findFirst({ where: { clientId: spa.clientId } });
  t.equal(family?.dpopJkt, key.jkt, "the family stores the key");

  const refresh = { grant_type: "refresh_token", refresh_token: first.refresh_token! };
  const other = await dpopKey("ES256");
  const wrongKey = await token(spa, refresh, await proof(other));
  expectOAuthError(t, wrongKey, 400, "invalid_grant");
  t.match(wrongKey.json().error_description, /bound to another DPoP key/);
  expectOAuthError(t, await token(spa, refresh), 400, "invalid_grant");
  clock.advance(5); // past the concurrent-use window, should anything have consumed the token

  const rotated = expectBound(t, await token(spa, refresh, await proof(key)), key);
  t.ok(rotated.refresh_token, "the refused attempts left the token usable by its key");
  const revoked = await app.services.db.refreshFamily.findFirst({ where: { clientId: spa.clientId } });
  t.equal(revoked?.revokedAt, null, "and the family alive");
});

t.test("a public client's family started without a proof is not bound", async (t) => {
  const spa = await createClient({ public: true, grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API] });
  const user = await app.services.users.create("una", "una-password-1");
  const issued = await issueCode(app, user.id, spa.clientId, { redirectUri: CALLBACK, audience: [API] });
  const first = expectBound(t, await token(spa, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK }), null);
  expectBound(t, await token(spa, { grant_type: "refresh_token", refresh_token: first.refresh_token! }, await proof(key)), key);
});

t.test("DPOP_NONCE=on: use_dpop_nonce without a current nonce; DPoP-Nonce on every answer", async (t) => {
  const kek = randomBytes(32).toString("base64");
  const withNonce = await buildTestApp(t, { DPOP_NONCE: "on", TESSERA_KEK: kek });
  const calls = tokenCalls(withNonce);
  const client = await withNonce.createClient({ audiences: [API] });

  const first = await calls.token(client, cc, await calls.proof(key));
  expectOAuthError(t, first, 400, "use_dpop_nonce");
  const nonce = first.headers["dpop-nonce"] as string;
  t.match(nonce, /^[A-Za-z0-9_-]{43}$/, "the error carries DPoP-Nonce");

  const ok = await calls.token(client, cc, await calls.proof(key, { nonce }));
  expectBound(t, ok, key);
  t.equal(ok.headers["dpop-nonce"], nonce, "so does a success");
  t.equal((await calls.token(client, cc)).headers["dpop-nonce"], nonce, "and a Bearer request's answer");
  const unauthenticated = await calls.token({ clientId: client.clientId, clientSecret: "wrong" }, cc, await calls.proof(key, { nonce }));
  expectOAuthError(t, unauthenticated, 401, "invalid_client");
  t.equal(unauthenticated.headers["dpop-nonce"], nonce, "and a client-authentication failure");
  const badProof = await calls.token(client, cc, await calls.proof(key, { nonce, htm: "GET" }));
  expectInvalidProof(t, badProof, /htm/);
  t.equal(badProof.headers["dpop-nonce"], nonce, "and invalid_dpop_proof");

  withNonce.clock.advance(120);
  const stale = await calls.token(client, cc, await calls.proof(key, { nonce }));
  expectOAuthError(t, stale, 400, "use_dpop_nonce");
  t.not(stale.headers["dpop-nonce"], nonce, "a stale nonce: the answer gives the new one");

  const sibling = await buildTestApp(t, { DPOP_NONCE: "on", TESSERA_KEK: kek, DATABASE_URL: withNonce.config.databaseUrl }, withNonce.clock);
  const fromSibling = (await sibling.app.inject({ method: "POST", url: "/token", headers: FORM, payload: "" })).headers["dpop-nonce"] as string;
  expectBound(t, await calls.token(client, cc, await calls.proof(key, { nonce: fromSibling })), key);
});

t.test("DPOP_NONCE=off: no DPoP-Nonce header", async (t) => {
  t.equal((await token(service, cc, await proof(key))).headers["dpop-nonce"], undefined);
});
