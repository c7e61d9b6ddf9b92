// DPoP (RFC 9449) with a real client: oauth4webapi v3's DPoP handle (its own proofs: ES256 key,
// fresh jti and iat, htm and htu) against tessera listening on a loopback port, for client
// credentials, the authorization code (PKCE; the pages driven by app.inject) and refresh. Each token
// must be token_type DPoP on the wire with cnf.jkt the key's RFC 7638 thumbprint, computed here from
// the public key rather than taken from the library; a public client's refresh token works only with
// the same key. With DPOP_NONCE=on the first proof is answered use_dpop_nonce and oauth4webapi's
// handle carries the nonce into the retry (isDPoPNonceError, as its documentation has clients do).
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import t, { type Test } from "tap";
import { buildTestApp } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { signInAndAllow } from "../helpers/inject-sign-in.js";
import { recordingFetch } from "../helpers/recording-fetch.js";
import { freePort } from "../helpers/server-process.js";

const API = "https://api.example.test";
const CALLBACK = "https://app.example.test/callback";
const PASSWORD = "correct horse battery staple";

type Tessera = Awaited<ReturnType<typeof startTessera>>;

async function startTessera(t: Test, env: Record<string, string> = {}) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  // Today, not the helpers' 2026-01-01: the proofs' iat is real time.
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer, ...env }, new SettableClock(Date.now()));
  await app.listen({ port, host: "127.0.0.1" });
  await app.services.users.create("alice", PASSWORD);
  const wire = recordingFetch();
  // Every request of the test goes over plain http to loopback, recorded.
  const http = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: wire.fetch };
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: "oauth2", ...http }));
  const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
  return { app, issuer, as, createClient, http, wire, jwks };
}

/** A client's DPoP key pair (non-extractable private key, as oauth4webapi recommends) and its thumbprint. */
async function newKey() {
  const keyPair = await oauth.generateKeyPair("ES256");
  return { keyPair, jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)) };
}

/** The last /token answer as tessera sent it: token_type DPoP, and an access token bound to `jkt`. */
async function assertBound(t: Test, server: Tessera, jkt: string, proofs: number) {
  const answer = server.wire.last("/token");
  t.equal(answer.status, 200);
  t.ok(answer.proof, "the request carried a DPoP proof");
  t.equal(server.wire.exchanges.filter((e) => e.proof).length, proofs, "one proof per request");
  const body = answer.body as Record<string, string>;
  t.equal(body.token_type, "DPoP", "token_type DPoP on the wire");
  const { payload } = await jwtVerify(body.access_token!, server.jwks, { issuer: server.issuer, audience: API, typ: "at+jwt" });
  t.same(payload.cnf, { jkt }, "cnf.jkt is the key's thumbprint");
  return payload;
}

t.test("client credentials with a DPoP proof: a DPoP-bound token; without one: Bearer", async (t) => {
  const server = await startTessera(t);
  const { clientId, clientSecret } = await server.createClient({ audiences: [API], scopes: ["read"] });
  const client: oauth.Client = { client_id: clientId };
  const auth = oauth.ClientSecretBasic(clientSecret);
  const { keyPair, jkt } = await newKey();
  const DPoP = oauth.DPoP(client, keyPair);
  t.equal(await DPoP.calculateThumbprint(), jkt, "oauth4webapi's thumbprint agrees with jose's");

  const parameters = { scope: "read", resource: API };
  const tokens = await oauth.processClientCredentialsResponse(server.as, client, await oauth.clientCredentialsGrantRequest(server.as, client, auth, parameters, { DPoP, ...server.http }));
  t.equal(tokens.token_type, "dpop", "oauth4webapi took it as a DPoP token");
  const claims = await assertBound(t, server, jkt, 1);
  t.equal(claims.client_id, clientId);
  const proof = server.wire.last("/token").proof!;
  t.equal(proof.htu, `${server.issuer}/token`, "the proof named tessera's token endpoint");

  const bearer = await oauth.processClientCredentialsResponse(server.as, client, await oauth.clientCredentialsGrantRequest(server.as, client, auth, parameters, server.http));
  t.equal(bearer.token_type, "bearer");
  const { payload } = await jwtVerify(bearer.access_token, server.jwks, { issuer: server.issuer, audience: API });
  t.notOk("cnf" in payload, "no proof, no binding");
});

t.test("authorization code with PKCE, dpop_jkt and DPoP, then refresh: the public client's refresh token is bound to its key", async (t) => {
  const server = await startTessera(t);
  const { clientId } = await server.createClient({ name: "Photo Book", public: true, grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API], scopes: ["read"] });
  const client: oauth.Client = { client_id: clientId, token_endpoint_auth_method: "none" };
  const { keyPair, jkt } = await newKey();
  const DPoP = oauth.DPoP(client, keyPair);

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(server.as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: CALLBACK, scope: "read", state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
    dpop_jkt: await DPoP.calculateThumbprint(), // RFC 9449 §10: the code is bound to the key
  }).toString();
  const callback = await signInAndAllow(server.app, url, "alice", PASSWORD);
  const params = oauth.validateAuthResponse(server.as, client, callback, state);
  const exchange = (handle: oauth.DPoPHandle) => oauth.authorizationCodeGrantRequest(server.as, client, oauth.None(), params, CALLBACK, verifier, { DPoP: handle, ...server.http });
  const stranger = oauth.DPoP(client, (await newKey()).keyPair);
  await t.rejects(oauth.processAuthorizationCodeResponse(server.as, client, await exchange(stranger)), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" }, "the code bound by dpop_jkt refuses another key");
  const response = await exchange(DPoP);
  const tokens = await oauth.processAuthorizationCodeResponse(server.as, client, response);
  t.equal(tokens.token_type, "dpop");
  t.type(tokens.refresh_token, "string", "a refresh token");
  await assertBound(t, server, jkt, 2);

  const refresh = (token: string, handle?: oauth.DPoPHandle) =>
    oauth.refreshTokenGrantRequest(server.as, client, oauth.None(), token, { ...(handle && { DPoP: handle }), ...server.http }).then((r) => oauth.processRefreshTokenResponse(server.as, client, r));
  const refreshed = await refresh(tokens.refresh_token!, DPoP);
  t.equal(refreshed.token_type, "dpop", "the same key refreshes");
  t.not(refreshed.refresh_token, tokens.refresh_token, "and the refresh token rotated");
  await assertBound(t, server, jkt, 3);

  const other = oauth.DPoP(client, (await newKey()).keyPair);
  await t.rejects(refresh(refreshed.refresh_token!, other), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" }, "another key: invalid_grant");
  await t.rejects(refresh(refreshed.refresh_token!), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" }, "no proof: invalid_grant");
});

t.test("DPOP_NONCE=on: use_dpop_nonce, then oauth4webapi retries with tessera's nonce", async (t) => {
  const server = await startTessera(t, { DPOP_NONCE: "on" });
  const { clientId, clientSecret } = await server.createClient({ audiences: [API], scopes: ["read"] });
  const client: oauth.Client = { client_id: clientId };
  const auth = oauth.ClientSecretBasic(clientSecret);
  const { keyPair, jkt } = await newKey();
  const DPoP = oauth.DPoP(client, keyPair);
  const request = () => oauth.clientCredentialsGrantRequest(server.as, client, auth, { scope: "read", resource: API }, { DPoP, ...server.http });

  const refused = await oauth.processClientCredentialsResponse(server.as, client, await request()).catch((e: unknown) => e);
  t.ok(oauth.isDPoPNonceError(refused), "the first proof is refused with use_dpop_nonce");
  const first = server.wire.last("/token");
  t.equal(first.status, 400);
  t.equal((first.body as Record<string, string>).error, "use_dpop_nonce");
  t.notOk(first.proof!.nonce, "the first proof had no nonce");
  t.type(first.nonce, "string", "the answer carries DPoP-Nonce");

  const tokens = await oauth.processClientCredentialsResponse(server.as, client, await request());
  t.equal(tokens.token_type, "dpop");
  const second = server.wire.last("/token");
  t.equal(second.proof!.nonce, first.nonce, "the retry's proof carries tessera's nonce");
  t.not(second.proof!.jti, first.proof!.jti, "in a new proof");
  await assertBound(t, server, jkt, 2);
});
