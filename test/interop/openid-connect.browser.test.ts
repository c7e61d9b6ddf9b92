// OpenID Connect sign-in end to end: Debian's Chromium signs in and consents on tessera's pages, and
// openid-client (default OIDC mode, a public client with PKCE and nonce) exchanges the code, validates
// the ID token and fetches the profile from /userinfo. (RP-initiated logout is tested with it elsewhere.)
import * as oidc from "openid-client";
import t from "tap";
import { buildTestApp } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { decideOnPage, launchBrowser, signInOnPage, startCallbackServer } from "../helpers/browser.js";
import { freePort } from "../helpers/server-process.js";

t.test("Chromium signs in and allows; openid-client gets a valid ID token and the profile", async (t) => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const callback = await startCallbackServer(t);
  // Today: the browser expires cookies and openid-client checks the ID token in real time.
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer }, new SettableClock(Date.now()));
  await app.listen({ port, host: "127.0.0.1" });
  const { clientId } = await createClient({
    name: "Photo Book",
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [callback.redirectUri],
    public: true,
    scopes: ["openid", "profile", "email"],
    audiences: ["https://api.acme.test"],
  });
  const user = await app.services.users.create("alice", "correct horse battery staple", "test", { name: "Alice Liddell", email: "alice@acme.test" });
  const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });

  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callback.redirectUri,
    scope: "openid profile email",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    nonce,
    state,
  });

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  t.equal((await page.goto(url.href))?.status(), 200, "the sign-in page");
  await signInOnPage(page, "alice", "correct horse battery staple");
  const consent = await page.textContent("body");
  t.match(consent, "openid", "the consent page names the OpenID scopes");
  t.match(consent, "email");
  const callbackUrl = await decideOnPage(page, callback, "allow");

  const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
  const claims = tokens.claims()!;
  t.equal(claims.sub, user.id);
  t.equal(claims.aud, clientId);
  t.equal(claims.nonce, nonce);
  t.equal(claims.iss, issuer);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  t.same(info, { sub: user.id, name: "Alice Liddell", preferred_username: "alice", email: "alice@acme.test", email_verified: false });
});
