// OpenID Connect Core ID tokens from the authorization-code exchange (§3.1.3.3, §3.1.3.6, §2) and on
// refresh (§12.2): every claim, the header, the nonce echoed exactly, at_hash for every SIGNING_ALG
// (checked against its own computation here, not tessera's), auth_time, and when there is none.
import { createHash } from "node:crypto";
import t, { type Test } from "tap";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import type { FastifyInstance } from "fastify";
import { SIGNING_ALGS } from "../../../src/config/schema.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { issueCode } from "../../helpers/code-flow.js";
import { FORM } from "../../helpers/oauth.js";

const CALLBACK = "https://app.example.test/callback";
const API = "https://api.example.test";
type Creds = { clientId: string; clientSecret: string };
type Answer = { access_token: string; id_token?: string; refresh_token?: string; expires_in: number };

// Independent of src/crypto/jwt.ts: OIDC Core §3.1.3.6 (SHA-256 for *256) and, for EdDSA with
// Ed25519, SHA-512 as node-oidc-provider and openid-client compute it.
const HASH = { RS256: "sha256", PS256: "sha256", ES256: "sha256", EdDSA: "sha512" } as const;
const leftHalf = (alg: keyof typeof HASH, token: string) => {
  const digest = createHash(HASH[alg]).update(token).digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
};

async function setUp(t: Test, env: Record<string, string> = {}) {
  const built = await buildTestApp(t, env);
  const rp = await built.createClient({ grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], scopes: ["openid", "profile", "email", "read"], audiences: [API] });
  const user = await built.app.services.users.create("alice", "alice-password-1");
  return { ...built, rp, user };
}

const exchange = (app: FastifyInstance, rp: Creds, issued: { code: string; verifier: string }) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(rp.clientId, rp.clientSecret) },
    payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK }),
  });

const refresh = (app: FastifyInstance, rp: Creds, refreshToken: string, scope?: string) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(rp.clientId, rp.clientSecret) },
    payload: form({ grant_type: "refresh_token", refresh_token: refreshToken, ...(scope !== undefined && { scope }) }),
  });

async function verified(app: FastifyInstance, idToken: string, issuer: string, audience: string) {
  const jwks = (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json() as JSONWebKeySet;
  return jwtVerify(idToken, createLocalJWKSet(jwks), { issuer, audience, typ: "JWT", currentDate: new Date(app.services.clock.now()) });
}

t.test("scope openid: an ID token with every claim, signed by the active key", async (t) => {
  const { app, config, clock, rp, user } = await setUp(t);
  const authTime = new Date(clock.now() - 90_000); // signed in 90 s before the code
  const issued = await issueCode(app, user.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["openid", "read"], nonce: "n-0S6_WzA2Mj", authTime });
  const res = await exchange(app, rp, issued);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers["cache-control"], "no-store");
  const answer = res.json() as Answer;
  t.type(answer.id_token, "string");
  const { payload, protectedHeader } = await verified(app, answer.id_token!, config.issuer, rp.clientId);
  t.same(protectedHeader, { alg: "RS256", typ: "JWT", kid: app.services.keys.signer!.kid });
  const access = decodeJwt(answer.access_token);
  t.same(payload, {
    iss: config.issuer,
    sub: user.id,
    aud: rp.clientId,
    exp: access.exp,
    iat: access.iat,
    auth_time: Math.floor(authTime.getTime() / 1000),
    nonce: "n-0S6_WzA2Mj",
    at_hash: leftHalf("RS256", answer.access_token),
    sid: issued.sessionId,
  }, "exactly these claims");
  t.equal(payload.exp! - payload.iat!, answer.expires_in, "lives as long as the access token");
  t.equal(payload.iat, Math.floor(clock.now() / 1000));
});

t.test("the nonce is echoed exactly, odd characters and all; without one there is no nonce claim", async (t) => {
  const { app, rp, user } = await setUp(t);
  for (const nonce of ["a b+c/d=e%20f&g?h#i", "ünïcødé ☃ \"quoted\" <tag>", "x".repeat(255)]) {
    const issued = await issueCode(app, user.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["openid"], nonce });
    const answer = (await exchange(app, rp, issued)).json() as Answer;
    t.equal(decodeJwt(answer.id_token!).nonce, nonce);
  }
  const issued = await issueCode(app, user.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["openid"] });
  const claims = decodeJwt(((await exchange(app, rp, issued)).json() as Answer).id_token!);
  t.notOk("nonce" in claims);
  t.type(claims.auth_time, "number", "auth_time is always there (max_age needs it, OIDC Core §3.1.2.1)");
});

t.test("without scope openid there is no ID token", async (t) => {
  const { app, rp, user } = await setUp(t);
  const issued = await issueCode(app, user.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["profile", "read"], nonce: "n" });
  const res = await exchange(app, rp, issued);
  t.equal(res.statusCode, 200);
  t.same(Object.keys(res.json() as object).sort(), ["access_token", "expires_in", "refresh_token", "scope", "token_type"]);
});

for (const alg of SIGNING_ALGS) {
  t.test(`SIGNING_ALG=${alg}: the ID token is signed with ${alg} and at_hash uses ${HASH[alg]}`, async (t) => {
    const { app, config, rp, user } = await setUp(t, { SIGNING_ALG: alg });
    const issued = await issueCode(app, user.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["openid"] });
    const answer = (await exchange(app, rp, issued)).json() as Answer;
    const { payload, protectedHeader } = await verified(app, answer.id_token!, config.issuer, rp.clientId);
    t.equal(protectedHeader.alg, alg);
    t.equal(payload.at_hash, leftHalf(alg, answer.access_token));
    t.equal(String(payload.at_hash).length, HASH[alg] === "sha256" ? 22 : 43, "half the digest: 16 or 32 octets");
    t.equal(decodeProtectedHeader(answer.access_token).kid, protectedHeader.kid, "the same key as the access token");
  });
}

t.test("refresh: a new ID token, same iss/sub/aud/sid, the original auth_time, no nonce (OIDC Core §12.2)", async (t) => {
  const { app, config, clock, rp, user } = await setUp(t);
  const authTime = new Date(clock.now() - 5_000);
  const issued = await issueCode(app, user.id, rp.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["openid", "read"], nonce: "first", authTime });
  const first = (await exchange(app, rp, issued)).json() as Answer;
  clock.advance(600);
  const res = await refresh(app, rp, first.refresh_token!);
  t.equal(res.statusCode, 200, res.body);
  const second = res.json() as Answer;
  const { payload } = await verified(app, second.id_token!, config.issuer, rp.clientId);
  t.same(payload, {
    iss: config.issuer,
    sub: user.id,
    aud: rp.clientId,
    exp: decodeJwt(second.access_token).exp,
    iat: Math.floor(clock.now() / 1000),
    auth_time: Math.floor(authTime.getTime() / 1000),
    at_hash: leftHalf("RS256", second.access_token),
    sid: issued.sessionId,
  });
  const narrowed = (await refresh(app, rp, second.refresh_token!, "read")).json() as Answer;
  t.type(narrowed.access_token, "string");
  t.notOk("id_token" in narrowed, "a refresh that narrows openid away gets none");
});

t.test("the password grant gets no ID token, even with scope openid (no OpenID sign-in)", async (t) => {
  const { app, createClient } = await setUp(t);
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], scopes: ["openid"] });
  const res = await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) }, payload: form({ grant_type: "password", username: "alice", password: "alice-password-1", scope: "openid" }) });
  t.equal(res.statusCode, 200, res.body);
  t.notOk("id_token" in (res.json() as object));
  const again = (await refresh(app, web, (res.json() as Answer).refresh_token!)).json() as Answer;
  t.notOk("id_token" in again);
});
