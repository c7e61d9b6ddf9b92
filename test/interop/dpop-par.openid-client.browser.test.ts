// openid-client v6 with DPoP (RFC 9449) and PAR (RFC 9126) against tessera on a loopback port:
// getDPoPHandle for client credentials; and a public client that pushes its authorization request
// (buildAuthorizationUrlWithPAR with its DPoP handle: POST /par with a proof, which binds the code to
// the key, RFC 9449 §10.1; then a URL with only client_id and request_uri), sends the user through
// Chromium to sign in and consent, exchanges the code with its DPoP handle and refreshes with it. The wire is recorded (openid-client lowercases token_type): each token is
// token_type DPoP with cnf.jkt the key's RFC 7638 thumbprint, computed here from the public key.
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from "jose";
import * as oidc from "openid-client";
import t, { type Test } from "tap";
import { buildTestApp } from "../helpers/app.js";
import { decideOnPage, launchBrowser, signInOnPage, startCallbackServer } from "../helpers/browser.js";
import { SettableClock } from "../helpers/clock.js";
import { recordingFetch } from "../helpers/recording-fetch.js";
import { freePort } from "../helpers/server-process.js";

const API = "https://api.example.test";
const PASSWORD = "correct horse battery staple";

async function startTessera(t: Test) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  // Today, not the helpers' 2026-01-01: the proofs' iat and the browser's cookies are real time.
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer }, new SettableClock(Date.now()));
  await app.listen({ port, host: "127.0.0.1" });
  await app.services.users.create("alice", PASSWORD);
  const wire = recordingFetch();
  /** openid-client configured from tessera's RFC 8414 metadata, over plain http, recorded. */
  const configure = async (clientId: string, clientAuth: oidc.ClientAuth) => {
    const config = await oidc.discovery(new URL(issuer), clientId, undefined, clientAuth, { algorithm: "oauth2", execute: [oidc.allowInsecureRequests] });
    config[oidc.customFetch] = wire.fetch;
    return config;
  };
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  return { app, issuer, createClient, configure, wire, jwks };
}

type Tessera = Awaited<ReturnType<typeof startTessera>>;

/** A DPoP key pair from openid-client, its handle for `config`, and the key's thumbprint. */
async function newHandle(config: oidc.Configuration) {
  const keyPair = await oidc.randomDPoPKeyPair("ES256");
  return { DPoP: oidc.getDPoPHandle(config, keyPair), jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)) };
}

/** The last /token answer as tessera sent it: 200, token_type DPoP, an access token bound to `jkt`. */
async function assertBound(t: Test, server: Tessera, jkt: string) {
  const answer = server.wire.last("/token");
  t.equal(answer.status, 200);
  t.ok(answer.proof, "the request carried a DPoP proof");
  const body = answer.body as Record<string, string>;
  t.equal(body.token_type, "DPoP", "token_type DPoP on the wire");
  const { payload } = await jwtVerify(body.access_token!, server.jwks, { issuer: server.issuer, audience: API, typ: "at+jwt" });
  t.same(payload.cnf, { jkt }, "cnf.jkt is the key's thumbprint");
  return payload;
}

t.test("client credentials with openid-client's DPoP handle", async (t) => {
  const server = await startTessera(t);
  const { clientId, clientSecret } = await server.createClient({ audiences: [API], scopes: ["read"] });
  const config = await server.configure(clientId, oidc.ClientSecretBasic(clientSecret));
  const { DPoP, jkt } = await newHandle(config);
  const tokens = await oidc.clientCredentialsGrant(config, { scope: "read", resource: API }, { DPoP });
  t.equal(tokens.token_type, "dpop");
  const claims = await assertBound(t, server, jkt);
  t.equal(claims.client_id, clientId);
});

t.test("PAR with buildAuthorizationUrlWithPAR, sign-in in Chromium, the code exchanged and refreshed with DPoP", async (t) => {
  const server = await startTessera(t);
  const callback = await startCallbackServer(t);
  const { clientId } = await server.createClient({
    name: "Photo Book", public: true, grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [callback.redirectUri], audiences: [API], scopes: ["read"],
  });
  const config = await server.configure(clientId, oidc.None());
  t.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${server.issuer}/par`, "the metadata names /par");
  const { DPoP, jkt } = await newHandle(config);

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: callback.redirectUri, scope: "read", state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  }, { DPoP });
  const pushed = server.wire.last("/par");
  t.equal(pushed.status, 201, "/par answered 201 Created");
  t.equal(pushed.proof?.htu, `${server.issuer}/par`, "openid-client sent a DPoP proof to /par (RFC 9449 §10.1)");
  t.match(url.searchParams.get("request_uri"), /^urn:ietf:params:oauth:request_uri:/);
  t.same([...url.searchParams.keys()].sort(), ["client_id", "request_uri"], "the browser's URL carries no request parameters");

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  t.equal((await page.goto(url.href))?.status(), 200, "the sign-in page");
  await signInOnPage(page, "alice", PASSWORD);
  const callbackUrl = await decideOnPage(page, callback, "allow");
  t.equal(callbackUrl.searchParams.get("state"), state, "the pushed state comes back");

  const exchange = (handle: oidc.DPoPHandle) => oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: handle });
  const other = await newHandle(config);
  await t.rejects(exchange(other.DPoP), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" }, "the code is bound to the key of the proof sent to /par");
  const tokens = await exchange(DPoP);
  t.equal(tokens.token_type, "dpop");
  t.equal(tokens.scope, "read");
  await assertBound(t, server, jkt);

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
  t.equal(refreshed.token_type, "dpop", "the same key refreshes");
  await assertBound(t, server, jkt);
  await t.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token!, undefined, { DPoP: other.DPoP }), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" }, "another key: invalid_grant");
});
