// RP-initiated logout end to end: Debian's Chromium signs in on tessera's pages, openid-client (OIDC
// mode, discovery from /.well-known/openid-configuration) gets an ID token, and its buildEndSessionUrl
// signs the browser out at once and back to the client with state. Without a hint the browser is
// asked first, and the confirmation form's 303 to the client is allowed by the page's CSP (Chromium
// applies form-action to the redirect that answers a form post).
import * as oidc from "openid-client";
import type { Page } from "playwright-core";
import t from "tap";
import { buildTestApp } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { decideOnPage, launchBrowser, signInOnPage, startCallbackServer, type CallbackServer } from "../helpers/browser.js";
import { freePort } from "../helpers/server-process.js";

const USERNAME = "alice";
const PASSWORD = "correct horse battery staple";

const port = await freePort();
const issuer = `http://127.0.0.1:${port}`;
const callback = await startCallbackServer(t);
const signedOutUri = `${callback.redirectUri}?signed_out=1`;
// Today: the browser expires cookies and openid-client checks the ID token in real time.
const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer }, new SettableClock(Date.now()));
await app.listen({ port, host: "127.0.0.1" });
const { clientId } = await createClient({
  name: "Photo Book",
  grantTypes: ["authorization_code", "refresh_token"],
  redirectUris: [callback.redirectUri],
  postLogoutRedirectUris: [signedOutUri],
  public: true,
  scopes: ["openid", "read"],
  audiences: ["https://api.acme.test"],
});
const user = await app.services.users.create(USERNAME, PASSWORD);
const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
const browser = await launchBrowser(t);
const page = await browser.newPage();

/** Signs in (and allows, the first time) in the browser; openid-client exchanges the code. */
async function signIn(page: Page, callback: CallbackServer) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callback.redirectUri,
    scope: "openid read",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  await page.goto(url.href);
  await signInOnPage(page, USERNAME, PASSWORD);
  const landed = (await page.locator('button[name="decision"]').count()) > 0 ? await decideOnPage(page, callback, "allow") : await callback.next();
  return oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
}

const sessionCookie = async () => (await browser.cookies(issuer)).find((c) => c.name === "tessera_session");

t.test("with the ID token as hint: signed out at once, back at the client with state; the refresh token is dead", async (t) => {
  const tokens = await signIn(page, callback);
  t.type(tokens.id_token, "string");
  t.equal(tokens.claims()?.sub, user.id);
  t.ok(await sessionCookie(), "signed in: the session cookie is set");

  const state = oidc.randomState();
  const logout = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: signedOutUri, state });
  const landed = callback.next();
  await page.goto(logout.href);
  const back = await landed;
  t.equal(back.searchParams.get("signed_out"), "1");
  t.equal(back.searchParams.get("state"), state);
  t.equal(await sessionCookie(), undefined, "the session cookie is gone");
  await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" });
});

t.test("without a hint: the confirmation page, then back at the client", async (t) => {
  const tokens = await signIn(page, callback);
  const logout = oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: signedOutUri, state: "asked" });
  const shown = await page.goto(logout.href);
  t.equal(shown?.status(), 200);
  t.equal(await page.textContent("h1"), "Sign out of tessera?");
  t.ok(await sessionCookie(), "still signed in while asked");
  const landed = callback.next();
  await page.click('form[action="/end-session/confirm"] button[type="submit"]');
  const back = await landed;
  t.equal(back.searchParams.get("state"), "asked");
  await page.waitForURL((u) => u.href.startsWith(callback.redirectUri));
  t.equal(await sessionCookie(), undefined);
  await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), { code: "OAUTH_RESPONSE_BODY_ERROR", error: "invalid_grant" });
});
