// Pushed authorization requests with a real client: openid-client v6's buildAuthorizationUrlWithPAR
// against tessera listening on a loopback port. openid-client finds pushed_authorization_request_endpoint
// in the discovery document, pushes the request with the client's authentication (client_secret_basic,
// private_key_jwt, none for a public client), and builds /authorize?client_id&request_uri from the
// answer; the user signs in (pages driven with app.inject and a cookie jar), and authorizationCodeGrant
// completes the flow, validating the ID token.
import { exportJWK, generateKeyPair } from "jose";
import t, { type Test } from "tap";
import * as oidc from "openid-client";
import { buildTestApp, form, type TestApp } from "../helpers/app.js";
import { CookieJar, hidden } from "../helpers/authorize.js";
import { SettableClock } from "../helpers/clock.js";
import { freePort } from "../helpers/server-process.js";

const CALLBACK = "https://rp.example.test/callback";
const PASSWORD = "correct horse battery staple";
const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/;

async function startTessera(t: Test): Promise<{ base: TestApp; issuer: string }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  // Real time: openid-client checks the ID token's iat and exp against its own clock.
  const base = await buildTestApp(t, { TESSERA_ISSUER: issuer, REQUIRE_PAR: "on" }, new SettableClock(Date.now()));
  await base.app.listen({ port, host: "127.0.0.1" });
  await base.app.services.users.create("alice", PASSWORD);
  return { base, issuer };
}

/** The user signs in and allows the client; returns where tessera redirects. */
async function signIn(app: TestApp["app"], authorizationUrl: URL): Promise<URL> {
  const jar = new CookieJar();
  const page = jar.take(await app.inject({ method: "GET", url: `${authorizationUrl.pathname}${authorizationUrl.search}` }));
  if (page.statusCode !== 200) throw new Error(`no sign-in page: ${page.statusCode} ${page.body}`);
  const post = async (path: string, fields: Record<string, string>, from: { body: string }) =>
    jar.take(
      await app.inject({
        method: "POST",
        url: path,
        payload: form({ interaction: hidden(from.body, "interaction"), csrf_token: hidden(from.body, "csrf_token"), ...fields }),
        headers: { "content-type": "application/x-www-form-urlencoded", ...jar.header() },
      }),
    );
  let done = await post("/authorize/sign-in", { username: "alice", password: PASSWORD }, page);
  if (done.statusCode === 200) done = await post("/authorize/consent", { decision: "allow" }, done);
  if (done.statusCode !== 303) throw new Error(`no redirect: ${done.statusCode} ${done.body}`);
  return new URL(done.headers.location as string);
}

/** buildAuthorizationUrlWithPAR, the sign-in, and authorizationCodeGrant, for a client configured as `config`. */
async function flow(t: Test, app: TestApp["app"], config: oidc.Configuration) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: CALLBACK,
    scope: "openid read",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  t.same([...url.searchParams.keys()].sort(), ["client_id", "request_uri"], "the URL carries only client_id and request_uri");
  t.match(url.searchParams.get("request_uri"), REQUEST_URI);
  const callback = await signIn(app, url);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  t.equal(tokens.scope, "openid read");
  t.equal(tokens.claims()!.nonce, nonce, "the ID token of the pushed request's nonce, validated by openid-client");
  // The request_uri was used: the same URL again is refused.
  const again = await app.inject({ method: "GET", url: `${url.pathname}${url.search}` });
  t.equal(again.statusCode, 400, "a request_uri is used once");
}

const registration = { grantTypes: ["authorization_code"], redirectUris: [CALLBACK], scopes: ["openid", "read"], audiences: ["https://api.example.test"] };

t.test("client_secret_basic", async (t) => {
  const { base, issuer } = await startTessera(t);
  const rp = await base.createClient({ name: "Confidential RP", ...registration });
  const config = await oidc.discovery(new URL(issuer), rp.clientId, {}, oidc.ClientSecretBasic(rp.clientSecret), { execute: [oidc.allowInsecureRequests] });
  t.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${issuer}/par`);
  t.equal(config.serverMetadata().require_pushed_authorization_requests, true);
  await flow(t, base.app, config);
});

t.test("private_key_jwt", async (t) => {
  const { base, issuer } = await startTessera(t);
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "rp-key", alg: "ES256", use: "sig" };
  const rp = await base.createClient({ name: "Keyed RP", ...registration, jwks: { keys: [jwk] } });
  const config = await oidc.discovery(new URL(issuer), rp.clientId, {}, oidc.PrivateKeyJwt({ key: privateKey, kid: "rp-key" }), { execute: [oidc.allowInsecureRequests] });
  await flow(t, base.app, config);
});

t.test("a public client (none)", async (t) => {
  const { base, issuer } = await startTessera(t);
  const rp = await base.createClient({ name: "Public RP", ...registration, public: true });
  const config = await oidc.discovery(new URL(issuer), rp.clientId, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  await flow(t, base.app, config);
});
