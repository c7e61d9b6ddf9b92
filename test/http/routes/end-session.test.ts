// /end-session (OpenID RP-Initiated Logout 1.0): a valid id_token_hint for this browser's session signs
// out at once and ends what the session issued; anything else is asked on a confirmation page (CSRF
// bound) or refused on a 400 page that never redirects; openid-client's buildEndSessionUrl is accepted.
import { generateKeyPairSync } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import * as oidc from "openid-client";
import t, { type Test } from "tap";
import { signJwt } from "../../../src/crypto/jwt.js";
import { sha256 } from "../../../src/crypto/secrets.js";
import { basic, form } from "../../helpers/app.js";
import { authorizeFixture, CookieJar, type AuthorizeFixture, hidden, locationParams, PASSWORD, REDIRECT_URI, USERNAME, VERIFIER } from "../../helpers/authorize.js";
import { setCookies } from "../../helpers/cookies.js";
import { idTokenHint } from "../../helpers/id-token.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const LOGGED_OUT = "https://app.example.test/logged-out";

const f = await authorizeFixture(t, {}, { postLogoutRedirectUris: [LOGGED_OUT, "com.example.app:/bye"], scopes: ["openid", "read", "write"] });
const { app } = f;
const apiServer = await f.createClient({ canIntrospect: true, audiences: [API] });
const other = await f.createClient({ name: "Other", grantTypes: ["authorization_code"], redirectUris: [REDIRECT_URI], postLogoutRedirectUris: ["https://other.example.test/bye"] });

/** Signs in through /authorize in a fresh browser, allows, exchanges the code: the tokens and the session. */
async function signedIn(fx: AuthorizeFixture = f, scope = "read") {
  const { app } = fx;
  const jar = new CookieJar();
  const signIn = await fx.signIn(await fx.authorize({ scope }, jar), USERNAME, PASSWORD, jar);
  // The consent page the first time; remembered (a grant) after that.
  const back = signIn.statusCode === 200 ? await fx.post("/authorize/consent", signIn, { decision: "allow" }, jar) : signIn;
  const { code } = locationParams(back);
  const sessionId = (await app.services.authorizationCodes.findByDigest(sha256(code!)))!.sessionId;
  const tokens = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(fx.clientId, fx.clientSecret) },
    payload: form({ grant_type: "authorization_code", code: code!, code_verifier: VERIFIER, redirect_uri: REDIRECT_URI }),
  });
  t.equal(tokens.statusCode, 200, tokens.body);
  const { access_token: accessToken, refresh_token: refreshToken, id_token: idToken } = tokens.json() as { access_token: string; refresh_token: string; id_token?: string };
  return { jar, sessionId, accessToken, refreshToken, idToken };
}

const hintFor = (sessionId: string, claims: Record<string, unknown> = {}) => idTokenHint(app, { sub: f.userId, aud: f.clientId, sid: sessionId, ...claims });

const endSession = (jar: CookieJar, params: Record<string, string | string[]>) =>
  app.inject({ method: "GET", url: `/end-session?${form(params)}`, headers: jar.header() }).then((res) => jar.take(res));

const introspect = async (token: string) =>
  (await app.inject({ method: "POST", url: "/introspect", headers: { ...FORM, authorization: basic(apiServer.clientId, apiServer.clientSecret) }, payload: form({ token }) })).json();

const refresh = (refreshToken: string) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(f.clientId, f.clientSecret) }, payload: form({ grant_type: "refresh_token", refresh_token: refreshToken }) });

const sessionLive = async (sessionId: string) => (await app.services.browserSessions.listOfUser(f.userId)).some((s) => s.id === sessionId);

function expectErrorPage(t: Test, res: LightMyRequestResponse, message: string) {
  t.equal(res.statusCode, 400);
  t.equal(res.headers.location, undefined, "never a redirect");
  t.equal(res.headers["content-type"], "text/html; charset=utf-8");
  t.equal(res.headers["cache-control"], "no-store");
  t.match(res.headers["content-security-policy"], /frame-ancestors 'none'/);
  t.ok(res.body.includes("<h1>This sign-out request cannot be completed</h1>"), res.body);
  t.ok(res.body.includes(`<p class="error" role="alert">${message}</p>`), res.body);
}

/** The session cookie's Set-Cookie: cleared (empty, Max-Age=0 or Expires in the past), __Host- under https. */
function expectSessionCookieCleared(t: Test, res: LightMyRequestResponse) {
  const cleared = setCookies(res).filter((c) => c.name === "__Host-tessera_session");
  t.equal(cleared.length, 1, "one Set-Cookie for __Host-tessera_session");
  const [c] = cleared;
  t.equal(c!.value, "");
  t.equal(c!.attributes.path, "/");
  t.equal(c!.attributes.secure, true);
  t.ok(c!.attributes["max-age"] === "0" || Date.parse(String(c!.attributes.expires)) <= 0, JSON.stringify(c!.attributes));
}

t.test("a valid id_token_hint for this session: signed out at once, redirected with state, what the session issued ended", async (t) => {
  const s = await signedIn();
  t.equal((await introspect(s.accessToken)).active, true);
  const res = await endSession(s.jar, { id_token_hint: await hintFor(s.sessionId), post_logout_redirect_uri: LOGGED_OUT, state: "st 1&x" });
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, `${LOGGED_OUT}?state=st+1%26x`);
  t.equal(res.headers["cache-control"], "no-store");
  t.equal(res.body, "null", "as /authorize's redirects");
  expectSessionCookieCleared(t, res);
  t.notOk(s.jar.cookies.has("__Host-tessera_session"));

  t.equal(await sessionLive(s.sessionId), false, "the session row is ended");
  expectOAuthError(t, await refresh(s.refreshToken), 400, "invalid_grant");
  t.strictSame(await introspect(s.accessToken), { active: false }, "the access token is inactive");
  const blocked = await app.services.blocklist.isRevoked(JSON.parse(Buffer.from(s.accessToken.split(".")[1]!, "base64url").toString()).jti);
  t.equal(blocked, true, "blocklisted (with its status-list entry)");
  const [event] = await app.services.audit.list(1);
  t.match(event, { actor: `user:${f.userId}`, action: "browser_session.logout", target: `browser_session:${s.sessionId}`, details: { clientId: f.clientId, confirmed: false, sessionEnded: true, families: 1 } });

  // The browser is signed out: /authorize asks for the password again.
  const again = await f.authorize({}, s.jar);
  t.equal(again.statusCode, 200);
  t.match(again.body, /<h1>Sign in<\/h1>/);
});

t.test("POST with a form body: 303; without post_logout_redirect_uri, the signed-out page", async (t) => {
  const s = await signedIn();
  const res = s.jar.take(await app.inject({ method: "POST", url: "/end-session", headers: { ...FORM, ...s.jar.header() }, payload: form({ id_token_hint: await hintFor(s.sessionId), state: "ignored" }) }));
  t.equal(res.statusCode, 200);
  t.equal(res.headers.location, undefined);
  t.ok(res.body.includes("<h1>You are signed out</h1>"), res.body);
  expectSessionCookieCleared(t, res);
  t.equal(await sessionLive(s.sessionId), false);

  const s2 = await signedIn();
  const redirected = await app.inject({ method: "POST", url: "/end-session", headers: { ...FORM, ...s2.jar.header() }, payload: form({ id_token_hint: await hintFor(s2.sessionId), post_logout_redirect_uri: "com.example.app:/bye", state: "s2" }) });
  t.equal(redirected.statusCode, 303);
  t.equal(redirected.headers.location, "com.example.app:/bye?state=s2");
  t.equal(await sessionLive(s2.sessionId), false);
});

t.test("an expired but genuine hint is accepted (§4: even when the exp time has passed)", async (t) => {
  const s = await signedIn();
  const now = Math.floor(app.services.clock.now() / 1000);
  const res = await endSession(s.jar, { id_token_hint: await hintFor(s.sessionId, { iat: now - 7200, exp: now - 3600 }), post_logout_redirect_uri: LOGGED_OUT });
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, LOGGED_OUT);
  t.equal(await sessionLive(s.sessionId), false);
});

t.test("refused on a 400 page, nothing ended, no redirect", async (t) => {
  const s = await signedIn();
  const genuine = await hintFor(s.sessionId);
  const [header, payload, signature] = genuine.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sid: "another" })).toString("base64url")}.${signature}`;
  const foreignKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const forged = await idTokenHint(app, { sub: f.userId, aud: f.clientId, sid: s.sessionId }, { kid: app.services.keys.signer!.kid, alg: "ES256", key: foreignKey });
  const otherIssuer = await hintFor(s.sessionId, { iss: "https://evil.example" });
  const now = Math.floor(app.services.clock.now() / 1000);
  const tooOld = await hintFor(s.sessionId, { iat: now - 400 * 86400, exp: now - 399 * 86400 });
  // Signed by our key with our typ, yet not an ID token: no user, or no client it was issued to.
  const ours = { iss: app.services.config.issuer, sid: s.sessionId, iat: now, exp: now + 300 };
  const noSubject = await signJwt(app.services.keys.signer!, "JWT", { ...ours, aud: f.clientId });
  const noAudience = await signJwt(app.services.keys.signer!, "JWT", { ...ours, sub: f.userId });
  const FORGED = "The id_token_hint is not an ID token issued by this server.";
  const cases: [string, Record<string, string | string[]>, string][] = [
    ["a tampered hint", { id_token_hint: tampered, post_logout_redirect_uri: LOGGED_OUT }, FORGED],
    ["a hint signed by another key with our kid", { id_token_hint: forged, post_logout_redirect_uri: LOGGED_OUT }, FORGED],
    ["a hint of another issuer", { id_token_hint: otherIssuer }, FORGED],
    ["a hint older than any session", { id_token_hint: tooOld }, FORGED],
    ["an access token as hint", { id_token_hint: s.accessToken }, FORGED],
    ["a hint of ours without sub", { id_token_hint: noSubject }, FORGED],
    ["a hint of ours without aud", { id_token_hint: noAudience }, FORGED],
    ["an unregistered post_logout_redirect_uri", { id_token_hint: genuine, post_logout_redirect_uri: "https://evil.example/bye" }, "The post_logout_redirect_uri is not registered for this application."],
    ["a registered URI with a different port", { client_id: f.clientId, post_logout_redirect_uri: "https://app.example.test:444/logged-out" }, "The post_logout_redirect_uri is not registered for this application."],
    ["another client's URI", { id_token_hint: genuine, post_logout_redirect_uri: "https://other.example.test/bye" }, "The post_logout_redirect_uri is not registered for this application."],
    ["client_id and the hint's aud differ", { id_token_hint: genuine, client_id: other.clientId, post_logout_redirect_uri: "https://other.example.test/bye" }, "The client_id does not match the application the id_token_hint was issued to."],
    ["a URI without a client", { post_logout_redirect_uri: LOGGED_OUT }, "The post_logout_redirect_uri cannot be checked without client_id or id_token_hint."],
    ["an unknown client_id", { client_id: "nope", post_logout_redirect_uri: LOGGED_OUT }, "The application that asked to sign you out is not known here."],
    ["a repeated parameter", { id_token_hint: genuine, state: ["a", "b"] }, "The parameter state was given more than once."],
  ];
  for (const [name, params, message] of cases) {
    await t.test(name, async (t) => {
      const res = await endSession(s.jar, params);
      expectErrorPage(t, res, message);
      t.strictSame(setCookies(res), [], "no cookie touched");
    });
  }
  t.equal(await sessionLive(s.sessionId), true, "still signed in");
  t.equal((await introspect(s.accessToken)).active, true);
  t.equal((await refresh(s.refreshToken)).statusCode, 200);
});

t.test("no hint: the confirmation page; its form needs the CSRF token of this browser", async (t) => {
  const s = await signedIn();
  const page = await endSession(s.jar, { client_id: f.clientId, post_logout_redirect_uri: LOGGED_OUT, state: "c1" });
  t.equal(page.statusCode, 200);
  t.ok(page.body.includes("<h1>Sign out of tessera?</h1>"), page.body);
  t.ok(page.body.includes("<strong>Photo Printer</strong> asks to sign you out."));
  t.ok(page.body.includes('<form method="post" action="/end-session/confirm">'));
  t.equal(page.headers["content-security-policy"], "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://app.example.test; frame-ancestors 'none'; base-uri 'none'");
  t.equal(page.headers["x-frame-options"], "DENY");
  t.equal(await sessionLive(s.sessionId), true, "nothing ended by the GET");

  const confirmation = hidden(page.body, "confirmation");
  const csrf = hidden(page.body, "csrf_token");
  const post = (fields: Record<string, string>, cookies: Record<string, string>) =>
    app.inject({ method: "POST", url: "/end-session/confirm", headers: { ...FORM, ...cookies }, payload: form(fields) });
  expectErrorPage(t, await post({ confirmation, csrf_token: csrf }, { cookie: `__Host-tessera_session=${s.jar.cookies.get("__Host-tessera_session")}` }),
    "The form&#39;s security token does not match this browser; go back to the application and sign out again.");
  expectErrorPage(t, await post({ confirmation, csrf_token: csrf.replace(/^./, (c) => (c === "A" ? "B" : "A")) }, s.jar.header()),
    "The form&#39;s security token does not match this browser; go back to the application and sign out again.");
  const altered = confirmation.replace(/^[^.]+/, Buffer.from(JSON.stringify({ id: "x", expiresAt: Date.now() + 1e6, clientId: f.clientId, postLogoutRedirectUri: "https://evil.example/", state: null })).toString("base64url"));
  expectErrorPage(t, await post({ confirmation: altered, csrf_token: csrf }, s.jar.header()), "The form was altered or is not from this server.");
  const missing = await post({ confirmation }, s.jar.header());
  expectErrorPage(t, missing, "The request was malformed; go back to the application and sign out again.");
  t.equal(await sessionLive(s.sessionId), true, "still signed in after the refused posts");

  const done = s.jar.take(await post({ confirmation, csrf_token: csrf }, s.jar.header()));
  t.equal(done.statusCode, 303);
  t.equal(done.headers.location, `${LOGGED_OUT}?state=c1`);
  expectSessionCookieCleared(t, done);
  t.equal(await sessionLive(s.sessionId), false);
  expectOAuthError(t, await refresh(s.refreshToken), 400, "invalid_grant");
  t.strictSame(await introspect(s.accessToken), { active: false });
  const [event] = await app.services.audit.list(1);
  t.match(event, { action: "browser_session.logout", details: { confirmed: true, clientId: f.clientId } });
});

t.test("a hint without sid (issued outside a browser session) names its user: that user's session signs out at once", async (t) => {
  const s = await signedIn();
  const res = await endSession(s.jar, { id_token_hint: await hintFor(s.sessionId, { sid: undefined }), post_logout_redirect_uri: LOGGED_OUT });
  t.equal(res.statusCode, 302, res.body);
  t.equal(res.headers.location, LOGGED_OUT);
  t.equal(await sessionLive(s.sessionId), false);
  const second = await signedIn();
  const someoneElse = await endSession(second.jar, { id_token_hint: await hintFor(second.sessionId, { sid: undefined, sub: "someone-else" }), post_logout_redirect_uri: LOGGED_OUT });
  t.equal(someoneElse.statusCode, 200, "another user's hint without sid: asked");
  t.ok(someoneElse.body.includes("<h1>Sign out of tessera?</h1>"));
  t.equal(await sessionLive(second.sessionId), true);
});

t.test("a hint of another session, or another user: asked, not signed out", async (t) => {
  const s = await signedIn();
  for (const claims of [{ sid: "some-other-session" }, { sub: "someone-else" }]) {
    const res = await endSession(s.jar, { id_token_hint: await hintFor(s.sessionId, claims), post_logout_redirect_uri: LOGGED_OUT });
    t.equal(res.statusCode, 200);
    t.ok(res.body.includes("<h1>Sign out of tessera?</h1>"));
  }
  t.equal(await sessionLive(s.sessionId), true);
});

t.test("nobody signed in: straight to the registered URI, or the signed-out page", async (t) => {
  const jar = new CookieJar();
  const res = await endSession(jar, { client_id: other.clientId, post_logout_redirect_uri: "https://other.example.test/bye", state: "z" });
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, "https://other.example.test/bye?state=z");
  t.strictSame(setCookies(res), []);
  const page = await endSession(jar, {});
  t.equal(page.statusCode, 200);
  t.ok(page.body.includes("<h1>You are signed out</h1>"));
});

t.test("openid-client's buildEndSessionUrl, from the discovery document, makes a request /end-session accepts", async (t) => {
  const s = await signedIn();
  // The discovery document as served (openid-client takes it as the server metadata).
  const discovery = (await app.inject({ method: "GET", url: "/.well-known/openid-configuration" })).json() as oidc.ServerMetadata;
  t.equal(discovery.end_session_endpoint, `${f.config.issuer}/end-session`);
  const config = new oidc.Configuration(discovery, f.clientId, f.clientSecret);
  const url = oidc.buildEndSessionUrl(config, { id_token_hint: await hintFor(s.sessionId), post_logout_redirect_uri: LOGGED_OUT, state: "from-openid-client" });
  t.equal(url.origin + url.pathname, `${f.config.issuer}/end-session`);
  t.equal(url.searchParams.get("client_id"), f.clientId, "it sends client_id too");
  const res = s.jar.take(await app.inject({ method: "GET", url: url.pathname + url.search, headers: s.jar.header() }));
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, `${LOGGED_OUT}?state=from-openid-client`);
  t.equal(await sessionLive(s.sessionId), false);
});

t.test("a real ID token from the code exchange (scope openid) is a hint that signs out at once", async (t) => {
  const s = await signedIn(f, "openid read");
  t.type(s.idToken, "string");
  const claims = JSON.parse(Buffer.from(s.idToken!.split(".")[1]!, "base64url").toString());
  t.match(claims, { sub: f.userId, aud: f.clientId, sid: s.sessionId });
  const res = await endSession(s.jar, { id_token_hint: s.idToken!, post_logout_redirect_uri: LOGGED_OUT, state: "real" });
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, `${LOGGED_OUT}?state=real`);
  expectSessionCookieCleared(t, res);
  t.equal(await sessionLive(s.sessionId), false);
  expectOAuthError(t, await refresh(s.refreshToken), 400, "invalid_grant");
  t.strictSame(await introspect(s.accessToken), { active: false });
});

t.test("POST /end-session needs a form body", async (t) => {
  const res = await app.inject({ method: "POST", url: "/end-session", headers: { "content-type": "application/json" }, payload: "{}" });
  expectErrorPage(t, res, "content type must be application/x-www-form-urlencoded");
});

t.test("under an http issuer the session cookie has no __Host- prefix and is cleared by its own name", async (t) => {
  const plain = await authorizeFixture(t, { TESSERA_ISSUER: "http://127.0.0.1:3000" }, { postLogoutRedirectUris: [LOGGED_OUT] });
  const s = await signedIn(plain);
  t.ok(s.jar.cookies.has("tessera_session"));
  const hint = await idTokenHint(plain.app, { sub: plain.userId, aud: plain.clientId, sid: s.sessionId });
  const res = s.jar.take(await plain.app.inject({ method: "GET", url: `/end-session?${form({ id_token_hint: hint, post_logout_redirect_uri: LOGGED_OUT })}`, headers: s.jar.header() }));
  t.equal(res.statusCode, 302);
  const [c, ...more] = setCookies(res);
  t.equal(more.length, 0);
  t.equal(c!.name, "tessera_session");
  t.equal(c!.value, "");
  t.equal(c!.attributes.secure, undefined, "not Secure over http");
  t.notOk(s.jar.cookies.has("tessera_session"));
});

t.test("a database failure while resuming the session: 500 server_error, not an error page blaming the request", async (t) => {
  // A failure that is neither the request's fault nor an outage (server-error.test.ts): the table is gone.
  await app.services.db.$executeRawUnsafe(`ALTER TABLE "BrowserSession" RENAME TO "BrowserSessionMoved"`);
  t.teardown(() => app.services.db.$executeRawUnsafe(`ALTER TABLE "BrowserSessionMoved" RENAME TO "BrowserSession"`));
  const res = await app.inject({ method: "GET", url: `/end-session?${form({ post_logout_redirect_uri: LOGGED_OUT, client_id: f.clientId })}`, headers: { cookie: "__Host-tessera_session=any-session" } });
  t.equal(res.statusCode, 500);
  t.equal(res.headers.location, undefined, "no redirect");
  t.same(res.json(), { error: "server_error", error_description: "the server could not complete the request" });
});
