// The authorization code flow end to end, as users and apps meet it: a real tessera on a loopback
// port, Debian's Chromium signing in and consenting on tessera's own pages, and openid-client (a
// certified relying party library) as the public client: discovery from the RFC 8414 metadata,
// PKCE S256, state, the iss check of RFC 9207, the code exchange and refresh rotation.
// SCREENSHOTS=1 writes docs/screenshots/sign-in.png and consent.png (committed, shown in the README).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import type { Page } from "playwright-core";
import t, { type Test } from "tap";
import { buildTestApp } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { decideOnPage, launchBrowser, signInOnPage, startCallbackServer } from "../helpers/browser.js";
import { freePort } from "../helpers/server-process.js";

const SCREENSHOTS = process.env.SCREENSHOTS === "1" ? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url)) : null;
const AUDIENCE = "https://api.acme.test"; // as in the README, whose screenshots these are
const USERNAME = "alice";
const PASSWORD = "correct horse battery staple";

type Tessera = Awaited<ReturnType<typeof startTessera>>;

/**
 * tessera listening on a free loopback port with that address as its issuer (the browser must reach
 * the URLs of the metadata, and an http issuer gets a plain `tessera_session` cookie), a public
 * third-party client registered with the callback server's redirect URI, a user, and openid-client
 * configured from the metadata.
 */
async function startTessera(t: Test) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const callback = await startCallbackServer(t);
  // Today, not the helpers' 2026-01-01: the browser expires cookies and jose checks tokens in real time.
  const clock = new SettableClock(Date.now());
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer }, clock);
  await app.listen({ port, host: "127.0.0.1" });
  const { clientId } = await createClient({
    name: "Photo Book",
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [callback.redirectUri],
    public: true,
    audiences: [AUDIENCE],
  });
  const user = await app.services.users.create(USERNAME, PASSWORD);
  // algorithm "oauth2": the RFC 8414 document (/.well-known/oauth-authorization-server), not OIDC's.
  const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), {
    algorithm: "oauth2",
    execute: [oidc.allowInsecureRequests],
  });
  return { app, clock, issuer, callback, clientId, userId: user.id, config };
}

/** An authorization request as the client builds it: a fresh PKCE verifier (S256) and state. */
async function authorizationRequest(server: Tessera, scope = "read") {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(server.config, {
    redirect_uri: server.callback.redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
  });
  return { url, verifier, state };
}

const screenshot = async (page: Page, name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
};

const signIn = (page: Page, password = PASSWORD) => signInOnPage(page, USERNAME, password);

const rejectsWith = (t: Test, promise: Promise<unknown>, error: string) =>
  t.rejects(promise, { code: "OAUTH_RESPONSE_BODY_ERROR", error }, `answers ${error}`);

t.test("sign in and allow in Chromium, then openid-client exchanges the code", async (t) => {
  const server = await startTessera(t);
  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  const first = await authorizationRequest(server);

  const signInPage = await page.goto(first.url.href);
  t.equal(signInPage?.status(), 200);
  t.equal(await page.locator('input[name="username"]').count(), 1, "the sign-in page asks for a username");
  t.equal(await page.locator('input[name="password"][type="password"]').count(), 1, "and a password");
  await screenshot(page, "sign-in.png");
  await signIn(page);

  const consent = await page.textContent("body");
  t.match(consent, "Photo Book", "the consent page names the client");
  t.match(consent, "read", "and the scope it asks for");
  t.match(consent, USERNAME, "and who is signed in");
  t.match(consent, AUDIENCE, "and the audience");
  await screenshot(page, "consent.png");
  const callbackUrl = await decideOnPage(page, server.callback, "allow");
  t.equal(callbackUrl.searchParams.get("state"), first.state);
  t.equal(callbackUrl.searchParams.get("iss"), server.issuer, "RFC 9207: the issuer is named");

  // openid-client checks state and iss, sends the verifier and the redirect URI.
  const tokens = await oidc.authorizationCodeGrant(server.config, callbackUrl, { pkceCodeVerifier: first.verifier, expectedState: first.state });
  t.equal(tokens.token_type.toLowerCase(), "bearer");
  t.equal(tokens.scope, "read");
  t.type(tokens.refresh_token, "string", "a client allowed refresh_token gets a refresh token");

  const jwks = createRemoteJWKSet(new URL(server.config.serverMetadata().jwks_uri!));
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: AUDIENCE, typ: "at+jwt" });
  t.equal(payload.sub, server.userId, "the token is the user's");
  t.equal(payload.client_id, server.clientId);
  t.equal(payload.scope, "read");

  await t.test("the refresh token rotates, and reusing an old one ends the family", async (t) => {
    const rotated = await oidc.refreshTokenGrant(server.config, tokens.refresh_token!);
    t.type(rotated.refresh_token, "string");
    t.not(rotated.refresh_token, tokens.refresh_token, "a new refresh token each time");
    const again = await jwtVerify(rotated.access_token, jwks, { issuer: server.issuer, audience: AUDIENCE, typ: "at+jwt" });
    t.equal(again.payload.sub, server.userId);
    t.equal(again.payload.scope, "read");
    // Within 2 s of a rotation a second use counts as a concurrent request (it revokes nothing).
    server.clock.advance(3);
    await rejectsWith(t, oidc.refreshTokenGrant(server.config, tokens.refresh_token!), "invalid_grant");
    await rejectsWith(t, oidc.refreshTokenGrant(server.config, rotated.refresh_token!), "invalid_grant");
  });

  await t.test("with the live session and remembered consent, /authorize redirects at once", async (t) => {
    const second = await authorizationRequest(server);
    const landed = server.callback.next();
    const response = await page.goto(second.url.href);
    const callbackUrl = await landed;
    t.ok(page.url().startsWith(server.callback.redirectUri), "the browser is back at the client");
    const authorize = response?.request().redirectedFrom();
    t.equal(authorize?.url(), second.url.href, "straight from /authorize");
    t.equal((await authorize?.response())?.status(), 302, "by a redirect, no page in between");
    t.equal(callbackUrl.searchParams.get("state"), second.state);

    const tokens = await oidc.authorizationCodeGrant(server.config, callbackUrl, { pkceCodeVerifier: second.verifier, expectedState: second.state });
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: AUDIENCE, typ: "at+jwt" });
    t.equal(payload.sub, server.userId);

    // RFC 6749 §4.1.2: a code presented twice is refused and what it gave is revoked.
    await rejectsWith(t, oidc.authorizationCodeGrant(server.config, callbackUrl, { pkceCodeVerifier: second.verifier, expectedState: second.state }), "invalid_grant");
    await rejectsWith(t, oidc.refreshTokenGrant(server.config, tokens.refresh_token!), "invalid_grant");
  });

  await t.test("more scopes than remembered ask for consent again", async (t) => {
    const wider = await authorizationRequest(server, "read write");
    await page.goto(wider.url.href);
    t.equal(await page.locator('button[name="decision"][value="allow"]').count(), 1, "the consent page again");
    t.equal(server.callback.received.length, 2, "nothing reached the client yet");
  });
});

t.test("a wrong password shows the page again; deny sends access_denied with state and iss", async (t) => {
  const server = await startTessera(t);
  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  const request = await authorizationRequest(server);
  await page.goto(request.url.href);

  await signIn(page, "not the password");
  t.equal(await page.locator('input[name="password"]').count(), 1, "the sign-in page again");
  t.match(await page.locator('[role="alert"]').textContent(), /\S/, "with a message");
  t.equal(new URL(page.url()).origin, server.issuer, "still at tessera");
  t.equal(server.callback.received.length, 0, "no redirect to the client");

  await signIn(page);
  const callbackUrl = await decideOnPage(page, server.callback, "deny");
  t.equal(callbackUrl.searchParams.get("error"), "access_denied");
  t.equal(callbackUrl.searchParams.get("state"), request.state);
  t.equal(callbackUrl.searchParams.get("iss"), server.issuer);
  t.equal(callbackUrl.searchParams.get("code"), null, "no code");
  await t.rejects(
    oidc.authorizationCodeGrant(server.config, callbackUrl, { pkceCodeVerifier: request.verifier, expectedState: request.state }),
    { code: "OAUTH_AUTHORIZATION_RESPONSE_ERROR", error: "access_denied" },
    "openid-client reads the error",
  );
});
