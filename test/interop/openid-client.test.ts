// A real relying party: openid-client v6 in its default OpenID Connect mode against tessera listening
// on a loopback port. Discovery (/.well-known/openid-configuration), the authorization request with
// PKCE, nonce, state and max_age, authorizationCodeGrant (openid-client validates the ID token: its
// signature from the JWKS, iss, aud, exp, iat, nonce, auth_time with max_age), refreshTokenGrant (the
// new ID token's sub must match), fetchUserInfo (sub must match the ID token's). The pages are driven
// without a browser (app.inject with a cookie jar); authorization-code.browser.test.ts drives them in Chromium.
import t, { type Test } from "tap";
import * as oidc from "openid-client";
import { CookieJar, hidden } from "../helpers/authorize.js";
import { buildTestApp, form } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { freePort } from "../helpers/server-process.js";

const CALLBACK = "https://rp.example.test/callback";
const API = "https://api.example.test";
const PASSWORD = "correct horse battery staple";

async function startTessera(t: Test, SIGNING_ALG: string) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  // Real time: openid-client checks the ID token's iat, exp and auth_time against its own clock.
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer, SIGNING_ALG }, new SettableClock(Date.now()));
  await app.listen({ port, host: "127.0.0.1" });
  const rp = await createClient({
    name: "Relying Party",
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [CALLBACK],
    scopes: ["openid", "profile", "email", "read"],
    audiences: [API],
  });
  const user = await app.services.users.create("alice", PASSWORD, "test", { name: "Alice Liddell", email: "alice@example.test", email_verified: true });
  // Default algorithm: OpenID Connect discovery. openid-client expects RS256 ID tokens unless the client
  // metadata names another alg (tessera signs with SIGNING_ALG's active key).
  const config = await oidc.discovery(new URL(issuer), rp.clientId, { client_secret: rp.clientSecret, id_token_signed_response_alg: SIGNING_ALG }, oidc.ClientSecretBasic(rp.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
  return { app, issuer, config, userId: user.id };
}

/** The user signs in on tessera's page and allows the client (once: consent is remembered); returns where tessera redirects. */
async function signIn(app: Awaited<ReturnType<typeof startTessera>>["app"], authorizationUrl: URL): Promise<URL> {
  const jar = new CookieJar();
  const page = jar.take(await app.inject({ method: "GET", url: `${authorizationUrl.pathname}${authorizationUrl.search}` }));
  if (page.statusCode !== 200) throw new Error(`no sign-in page: ${page.statusCode} ${page.body}`);
  const payload = form({ interaction: hidden(page.body, "interaction"), csrf_token: hidden(page.body, "csrf_token"), username: "alice", password: PASSWORD });
  const post = async (path: string, body: string) =>
    jar.take(await app.inject({ method: "POST", url: path, payload: body, headers: { "content-type": "application/x-www-form-urlencoded", ...jar.header() } }));
  let done = await post("/authorize/sign-in", payload);
  if (done.statusCode === 200) {
    done = await post("/authorize/consent", form({ interaction: hidden(done.body, "interaction"), csrf_token: hidden(done.body, "csrf_token"), decision: "allow" }));
  }
  if (done.statusCode !== 303) throw new Error(`no redirect: ${done.statusCode} ${done.body}`);
  return new URL(done.headers.location as string);
}

for (const alg of ["RS256", "EdDSA"]) {
  t.test(`SIGNING_ALG=${alg}: discovery, code + PKCE + nonce, ID token validated, refresh, userinfo`, async (t) => {
    const { app, issuer, config, userId } = await startTessera(t, alg);
    t.equal(config.serverMetadata().userinfo_endpoint, `${issuer}/userinfo`, "found through /.well-known/openid-configuration");

    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: "openid profile email",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      nonce,
      state,
      max_age: "300",
    });
    const callback = await signIn(app, url);
    t.equal(callback.searchParams.get("iss"), issuer);

    // A nonce other than the one sent: openid-client refuses the ID token (so it does check it).
    const other = await signIn(app, url);
    await t.rejects(
      oidc.authorizationCodeGrant(config, other, { pkceCodeVerifier: verifier, expectedNonce: oidc.randomNonce(), expectedState: state, maxAge: 300 }),
      { message: "unexpected JWT claim value encountered", cause: { message: 'unexpected ID Token "nonce" claim value' } },
    );

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, maxAge: 300 });
    const claims = tokens.claims()!;
    t.equal(claims.iss, issuer);
    t.equal(claims.sub, userId);
    t.equal(claims.aud, config.clientMetadata().client_id);
    t.equal(claims.nonce, nonce);
    t.type(claims.auth_time, "number");
    t.type(claims.sid, "string");

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    t.same(info, { sub: userId, name: "Alice Liddell", preferred_username: "alice", email: "alice@example.test", email_verified: true });
    // The subject check is real: another sub is refused.
    await t.rejects(oidc.fetchUserInfo(config, tokens.access_token, "someone-else"), { code: "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED" });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    const again = refreshed.claims()!;
    t.equal(again.sub, userId, "the refreshed ID token's sub is the same (openid-client checks it too)");
    t.equal(again.auth_time, claims.auth_time, "the original auth_time");
    t.notOk("nonce" in again, "no nonce on refresh");
    t.same(await oidc.fetchUserInfo(config, refreshed.access_token, userId), info);
  });
}
