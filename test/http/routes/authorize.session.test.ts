// Browser sessions and remembered consent at /authorize: the tessera_session cookie (attributes,
// digest-only storage), idle and absolute lifetimes on the settable clock, prompt=none|login|consent,
// max_age, more scopes asking again, and the admin API's view of a user's browser sessions.
import t from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { basic } from "../../helpers/app.js";
import { authorizeFixture, CookieJar, locationParams, REDIRECT_URI, type AuthorizeFixture } from "../../helpers/authorize.js";
import { setCookies } from "../../helpers/cookies.js";

const SESSION = "__Host-tessera_session";

/** Signs in and allows: the jar then holds a live session and the consent is remembered. */
async function signedIn(f: AuthorizeFixture, params: Record<string, string> = {}) {
  const consent = await f.signIn(await f.authorize(params));
  const done = await f.post("/authorize/consent", consent, { decision: "allow" });
  if (done.statusCode !== 303) throw new Error(`sign-in and consent answered ${done.statusCode}`);
  return done;
}

const isSignInPage = (body: string) => body.includes('action="/authorize/sign-in"');

t.test("the session cookie: __Host- prefix, HttpOnly, SameSite=Lax, Secure, Path=/, Max-Age SESSION_TTL; only a digest stored", async (t) => {
  const f = await authorizeFixture(t);
  const signIn = await f.signIn(await f.authorize());
  const cookie = setCookies(signIn).find((c) => c.name === SESSION);
  t.ok(cookie, "set by the sign-in");
  t.same(cookie!.attributes, { "max-age": "86400", path: "/", httponly: true, samesite: "Lax", secure: true });
  t.match(cookie!.value, /^[A-Za-z0-9_-]{43}$/, "256 random bits");
  const rows = await f.app.services.db.browserSession.findMany();
  t.equal(rows.length, 1);
  t.equal(rows[0]!.digest, sha256(cookie!.value), "the SHA-256 digest");
  t.notOk(JSON.stringify(rows).includes(cookie!.value), "never the value");
  t.equal(rows[0]!.userId, f.userId);
  t.equal(rows[0]!.authTime.getTime(), f.clock.now());
  t.equal(rows[0]!.expiresAt.getTime(), f.clock.now() + 86_400_000);
});

t.test("an http issuer: cookies without the __Host- prefix and without Secure", async (t) => {
  const f = await authorizeFixture(t, { TESSERA_ISSUER: "http://127.0.0.1:3000" });
  const page = await f.authorize();
  t.same(setCookies(page).map((c) => [c.name, c.attributes]), [["tessera_csrf", { path: "/", httponly: true, samesite: "Lax" }]]);
  const consent = await f.signIn(page);
  t.same(setCookies(consent).map((c) => [c.name, c.attributes]), [["tessera_session", { "max-age": "86400", path: "/", httponly: true, samesite: "Lax" }]]);
  const done = await f.post("/authorize/consent", consent, { decision: "allow" });
  t.equal(locationParams(done).iss, "http://127.0.0.1:3000");
});

t.test("idle lifetime: SESSION_IDLE_TTL without use ends the session; use keeps it (lastSeenAt at most once a minute)", async (t) => {
  const f = await authorizeFixture(t, { SESSION_IDLE_TTL: "10m" });
  await signedIn(f);
  const lastSeen = async () => (await f.app.services.db.browserSession.findFirstOrThrow()).lastSeenAt.getTime();
  const start = f.clock.now();
  f.clock.advance(30);
  t.equal((await f.authorize()).statusCode, 302, "30 s later: live");
  t.equal(await lastSeen(), start, "not written again within a minute");
  f.clock.advance(9 * 60 + 29); // 9:59 after the last write
  t.equal((await f.authorize()).statusCode, 302, "9:59 after the last recorded use: live");
  t.equal(await lastSeen(), f.clock.now(), "written: more than a minute since the last write");
  f.clock.advance(10 * 60);
  const page = await f.authorize();
  t.equal(page.statusCode, 200, "10 minutes unused: signed out");
  t.ok(isSignInPage(page.body));
});

t.test("absolute lifetime: SESSION_TTL ends the session however much it is used", async (t) => {
  const f = await authorizeFixture(t, { SESSION_TTL: "2h", SESSION_IDLE_TTL: "1h" });
  await signedIn(f);
  for (const minutes of [50, 50, 19]) {
    f.clock.advance(minutes * 60);
    t.equal((await f.authorize()).statusCode, 302, `in use: live`);
  }
  f.clock.advance(60); // 2 h after the sign-in
  const page = await f.authorize();
  t.equal(page.statusCode, 200);
  t.ok(isSignInPage(page.body), "signed out at the absolute lifetime");
});

t.test("prompt=none: login_required, consent_required, or the code at once", async (t) => {
  const f = await authorizeFixture(t);
  const noSession = await f.authorize({ prompt: "none" });
  t.equal(noSession.statusCode, 302);
  t.equal(noSession.headers.location, `${REDIRECT_URI}?error=login_required&error_description=the+user+is+not+signed+in&state=xyz&iss=https%3A%2F%2Ftessera.test`);

  await f.signIn(await f.authorize());
  const noConsent = await f.authorize({ prompt: "none" });
  t.equal(noConsent.statusCode, 302);
  t.equal(noConsent.headers.location, `${REDIRECT_URI}?error=consent_required&error_description=the+user+has+not+consented+to+this+request&state=xyz&iss=https%3A%2F%2Ftessera.test`);

  await signedIn(f);
  const ok = await f.authorize({ prompt: "none" });
  t.equal(ok.statusCode, 302);
  t.same(Object.keys(locationParams(ok)).sort(), ["code", "iss", "state"]);
});

t.test("prompt=login asks for the password again; the new sign-in's auth_time is bound to the code", async (t) => {
  const f = await authorizeFixture(t);
  await signedIn(f);
  f.clock.advance(120);
  const page = await f.authorize({ prompt: "login" });
  t.equal(page.statusCode, 200);
  t.ok(isSignInPage(page.body), "asked again despite the live session");
  const done = await f.signIn(page);
  t.equal(done.statusCode, 303, "consent is remembered: straight to the client");
  const row = await f.app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(locationParams(done).code!) } });
  t.equal(row.authTime.getTime(), f.clock.now(), "auth_time is the new sign-in");
  const sessions = await f.app.services.db.browserSession.findMany({ orderBy: { createdAt: "asc" } });
  t.equal(sessions.length, 2, "a new session for the new sign-in");
  t.not(sessions[0]!.endedAt, null, "the old one ended");
  t.equal(row.sessionId, sessions[1]!.id);
});

t.test("max_age: a password typed longer ago asks again; within it, the code", async (t) => {
  const f = await authorizeFixture(t);
  await signedIn(f);
  f.clock.advance(120);
  t.equal((await f.authorize({ max_age: "300" })).statusCode, 302, "2 min < 5 min");
  const page = await f.authorize({ max_age: "60" });
  t.equal(page.statusCode, 200);
  t.ok(isSignInPage(page.body), "2 min > 1 min: sign in again");
  const expired = await f.authorize({ max_age: "60", prompt: "none" });
  t.equal(locationParams(expired).error, "login_required", "with prompt=none: login_required");
  const done = await f.signIn(page);
  t.equal(done.statusCode, 303);
});

t.test("remembered consent: more scopes or another audience ask again; prompt=consent always asks", async (t) => {
  const f = await authorizeFixture(t);
  await signedIn(f, { scope: "read" });
  t.equal((await f.authorize({ scope: "read" })).statusCode, 302, "the same scope: remembered");
  const more = await f.authorize({ scope: "read write" });
  t.equal(more.statusCode, 200, "a wider scope: the consent page");
  t.match(more.body, /<li><code>read<\/code><\/li><li><code>write<\/code><\/li>/);
  const otherAudience = await f.authorize({ resource: "https://other.example.test" });
  t.equal(otherAudience.statusCode, 200, "another audience: the consent page");
  t.equal((await f.post("/authorize/consent", more, { decision: "allow" })).statusCode, 303);
  const grant = await f.app.services.db.grant.findFirstOrThrow();
  t.equal(grant.scope.split(" ").sort().join(" "), "read write", "widened");
  t.equal((await f.authorize({ scope: "write" })).statusCode, 302, "now within it");
  const asked = await f.authorize({ scope: "read", prompt: "consent" });
  t.equal(asked.statusCode, 200);
  t.match(asked.body, /Allow <strong>Photo Printer<\/strong> access\?/);
  const revoked = await f.app.services.grants.revokeFor(f.userId, f.clientId, "test");
  t.ok(revoked);
  t.equal((await f.authorize({ scope: "read" })).statusCode, 200, "a revoked grant: asked again");
});

t.test("a disabled user's live session counts for nothing", async (t) => {
  const f = await authorizeFixture(t);
  await signedIn(f);
  await f.app.services.users.setEnabled("alice", false);
  const page = await f.authorize();
  t.equal(page.statusCode, 200);
  t.ok(isSignInPage(page.body));
});

t.test("the admin API lists a user's browser sessions and ends them", async (t) => {
  const f = await authorizeFixture(t);
  const { clientId, clientSecret } = await f.createClient({ name: "admin", scopes: ["admin"], audiences: [f.config.issuer] });
  const tokenRes = await f.app.inject({ method: "POST", url: "/token", headers: { authorization: basic(clientId, clientSecret), "content-type": "application/x-www-form-urlencoded" }, payload: "grant_type=client_credentials&scope=admin" });
  const admin = { authorization: `Bearer ${(tokenRes.json() as { access_token: string }).access_token}` };
  await signedIn(f);
  const other = new CookieJar();
  await f.signIn(await f.authorize({}, other), undefined, undefined, other);
  const rows = await f.app.services.db.browserSession.findMany({ orderBy: { createdAt: "asc" } });

  const list = await f.app.inject({ method: "GET", url: `/admin/users/${f.userId}/browser-sessions`, headers: admin });
  t.equal(list.statusCode, 200);
  const iso = new Date(f.clock.now()).toISOString();
  const expires = new Date(f.clock.now() + 86_400_000).toISOString();
  t.same(list.json(), { browser_sessions: rows.map((r) => ({ id: r.id, auth_time: iso, created_at: iso, last_seen_at: iso, expires_at: expires })) });
  t.notOk(list.body.includes(rows[0]!.digest), "no digest shown");

  const ended = await f.app.inject({ method: "DELETE", url: `/admin/users/${f.userId}/browser-sessions`, headers: admin });
  t.equal(ended.statusCode, 200);
  t.same(ended.json(), { browser_sessions_ended: 2 });
  t.same((await f.app.inject({ method: "GET", url: `/admin/users/${f.userId}/browser-sessions`, headers: admin })).json(), { browser_sessions: [] });
  const page = await f.authorize();
  t.ok(isSignInPage(page.body), "the browser must sign in again");
  const audit = await f.app.services.db.auditEvent.findFirst({ where: { action: "user.end_browser_sessions" } });
  t.equal(audit?.target, `user:${f.userId}`);

  const missing = await f.app.inject({ method: "GET", url: "/admin/users/8f14e45f-ceea-467f-a0e6-2d4b6c7e9a10/browser-sessions", headers: admin });
  t.equal(missing.statusCode, 404);
});

t.test("a new password ends the user's browser sessions (whoever knew the old one signs in again)", async (t) => {
  const f = await authorizeFixture(t);
  await signedIn(f);
  t.equal((await f.authorize()).statusCode, 302, "signed in");
  await f.app.services.users.setPassword("alice", "a brand new password");
  const page = await f.authorize();
  t.equal(page.statusCode, 200);
  t.ok(isSignInPage(page.body), "asked for the password again");
  const row = await f.app.services.db.browserSession.findFirstOrThrow();
  t.equal(row.endedAt?.getTime(), f.clock.now(), "the session ended");
  const audit = await f.app.services.db.auditEvent.findFirstOrThrow({ where: { action: "user.set_password" } });
  t.match(audit.details, /"browserSessionsEnded":1/);
});
