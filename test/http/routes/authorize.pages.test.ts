// The sign-in and consent pages: escaping, security headers and CSP, branding, CSRF, wrong
// passwords and the sign-in back-off and rate limit, deny, sign in as someone else, first-party skip.
import t from "tap";
import { authorizeFixture, CookieJar, hidden, locationParams, PASSWORD, REDIRECT_URI, USERNAME, codeClient } from "../../helpers/authorize.js";
import { form } from "../../helpers/app.js";
import { setCookies } from "../../helpers/cookies.js";

const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://app.example.test; frame-ancestors 'none'; base-uri 'none'";

t.test("every page carries the security headers and a CSP allowing only its own form and styles", async (t) => {
  const f = await authorizeFixture(t);
  const signIn = await f.authorize();
  const consent = await f.signIn(signIn);
  const error = await f.authorize({ client_id: "nope" });
  for (const [name, page, status] of [["sign-in", signIn, 200], ["consent", consent, 200], ["error", error, 400]] as const) {
    t.equal(page.statusCode, status, `${name}: status`);
    t.equal(page.headers["content-type"], "text/html; charset=utf-8", `${name}: HTML`);
    t.equal(page.headers["x-frame-options"], "DENY", `${name}: X-Frame-Options`);
    t.equal(page.headers["cache-control"], "no-store", `${name}: Cache-Control`);
    t.equal(page.headers["referrer-policy"], "no-referrer", `${name}: Referrer-Policy`);
    t.equal(page.headers["x-content-type-options"], "nosniff", `${name}: nosniff`);
    t.notMatch(page.body, /<script|\sstyle=|\son[a-z]+=/i, `${name}: no script, inline style or handler`);
    t.match(page.body, /<link rel="stylesheet" href="\/authorize\/style.css">/, `${name}: the stylesheet`);
  }
  t.equal(signIn.headers["content-security-policy"], PAGE_CSP, "the form may be answered with a redirect to the client's origin");
  t.equal(consent.headers["content-security-policy"], PAGE_CSP);
  t.equal(error.headers["content-security-policy"], "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");

  const css = await f.app.inject({ method: "GET", url: "/authorize/style.css" });
  t.equal(css.statusCode, 200);
  t.equal(css.headers["content-type"], "text/css; charset=utf-8");
  t.equal(css.headers["cache-control"], "public, max-age=3600");
  t.match(css.body, /^:root \{/);
});

t.test("a private-use scheme redirect URI is allowed in form-action by its scheme", async (t) => {
  const f = await authorizeFixture(t);
  const mobile = await codeClient(f, { redirectUris: ["com.example.app:/callback"] });
  const page = await f.authorize({ client_id: mobile, redirect_uri: "com.example.app:/callback" });
  t.equal(page.statusCode, 200);
  t.match(page.headers["content-security-policy"], /; form-action 'self' com\.example\.app:;/);
});

t.test("what the client chose is shown as text: a client named <script> is escaped", async (t) => {
  const f = await authorizeFixture(t, {}, { name: `<script>alert(1)</script> & "friends"` });
  const signIn = await f.authorize({ login_hint: `"><img src=x onerror=alert(2)>` });
  t.match(signIn.body, /to continue to <strong>&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;friends&quot;<\/strong>/);
  t.match(signIn.body, /name="username" value="&quot;&gt;&lt;img src=x onerror=alert\(2\)&gt;"/, "login_hint pre-fills the username, escaped");
  t.notMatch(signIn.body, /<script>|<img src=x/);
  const consent = await f.signIn(signIn);
  t.match(consent.body, /<h1>Allow <strong>&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;friends&quot;<\/strong> access\?<\/h1>/);
  t.match(consent.body, /<title>Allow access · tessera<\/title>/);
  t.notMatch(consent.body, /<script>/);
});

t.test("branding by settings: product name, logo and stylesheet, allowed by the CSP", async (t) => {
  const f = await authorizeFixture(t, {
    BRAND_NAME: "Acme <ID>",
    BRAND_LOGO_URL: "https://cdn.acme.test/logo.svg",
    BRAND_STYLESHEET_URL: "https://cdn.acme.test/brand.css",
  });
  const page = await f.authorize();
  t.match(page.body, /<title>Sign in · Acme &lt;ID&gt;<\/title>/);
  t.match(page.body, /<img src="https:\/\/cdn.acme.test\/logo.svg" alt="Acme &lt;ID&gt;">/);
  t.match(page.body, /<link rel="stylesheet" href="\/authorize\/style.css">\n<link rel="stylesheet" href="https:\/\/cdn.acme.test\/brand.css">/);
  t.equal(page.headers["content-security-policy"], "default-src 'none'; style-src 'self' https://cdn.acme.test; img-src 'self' https://cdn.acme.test; form-action 'self' https://app.example.test; frame-ancestors 'none'; base-uri 'none'");
  const local = await authorizeFixture(t, { BRAND_LOGO_URL: "/static/logo.png" });
  const localPage = await local.authorize();
  t.match(localPage.headers["content-security-policy"], /img-src 'self';/, "a logo on this server needs nothing more than 'self'");
  t.match(localPage.body, /<div class="brand">tessera<\/div>|<img src="\/static\/logo.png" alt="tessera">/);
  t.match(localPage.body, /<img src="\/static\/logo.png" alt="tessera">/);
});

t.test("CSRF: a form post needs its interaction, the token and the browser's cookie", async (t) => {
  const f = await authorizeFixture(t);
  const page = await f.authorize();
  const csrfCookie = setCookies(page).find((c) => c.name === "__Host-tessera_csrf");
  t.ok(csrfCookie, "the sign-in page sets the CSRF cookie");
  t.same(csrfCookie!.attributes, { path: "/", httponly: true, samesite: "Lax", secure: true });
  const interaction = hidden(page.body, "interaction");
  const token = hidden(page.body, "csrf_token");
  const post = (fields: Record<string, string>, cookie?: string) =>
    f.app.inject({
      method: "POST",
      url: "/authorize/sign-in",
      payload: form({ username: USERNAME, password: PASSWORD, ...fields }),
      headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie !== undefined && { cookie }) },
    });
  const expectRefused = (res: Awaited<ReturnType<typeof post>>, message: RegExp, why: string) => {
    t.equal(res.statusCode, 400, `${why}: 400`);
    t.equal(res.headers.location, undefined, `${why}: no redirect`);
    t.equal(setCookies(res).filter((c) => c.name === "__Host-tessera_session").length, 0, `${why}: no session`);
    t.match(res.body, message, why);
  };
  const cookie = `__Host-tessera_csrf=${csrfCookie!.value}`;
  expectRefused(await post({ interaction, csrf_token: "wrong" }, cookie), /security token does not match this browser/, "a wrong token");
  expectRefused(await post({ interaction, csrf_token: token }), /security token does not match this browser/, "no cookie");
  expectRefused(await post({ interaction, csrf_token: token }, "__Host-tessera_csrf=another-browser"), /security token does not match this browser/, "another browser's cookie");
  expectRefused(await post({ interaction }, cookie), /The form was incomplete or malformed/, "no token at all");
  expectRefused(await post({ interaction: `${interaction}x`, csrf_token: token }, cookie), /the form was altered or is not from this server/, "an altered interaction");
  const [payload, mac] = interaction.split(".");
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), request: { redirectUri: "https://evil.test" } })).toString("base64url");
  expectRefused(await post({ interaction: `${forged}.${mac}`, csrf_token: token }, cookie), /the form was altered/, "a forged request with the old MAC");
  expectRefused(await post({ interaction: [interaction, interaction] as unknown as string, csrf_token: token }, cookie), /incomplete or malformed/, "a repeated field");

  f.clock.advance(30 * 60);
  expectRefused(await post({ interaction, csrf_token: token }, cookie), /the page was open too long/, "an expired interaction (30 min)");
  f.clock.advance(-1);
  const ok = await post({ interaction, csrf_token: token }, cookie);
  t.equal(ok.statusCode, 200, "the same post within 30 minutes: the consent page");
  t.match(ok.body, /Allow <strong>Photo Printer<\/strong>/);
});

t.test("a wrong password shows the page again (401) with a message, and no redirect", async (t) => {
  const f = await authorizeFixture(t);
  const page = await f.authorize();
  const wrong = await f.signIn(page, USERNAME, "not the password");
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.headers.location, undefined);
  t.equal(wrong.headers["content-type"], "text/html; charset=utf-8");
  t.match(wrong.body, /<p class="error" role="alert">Wrong username or password.<\/p>/);
  t.match(wrong.body, /name="username" value="alice"/, "the username is kept");
  t.notMatch(wrong.body, /not the password/, "the password is not");
  t.same(setCookies(wrong).filter((c) => c.name === "__Host-tessera_session"), [], "no session");
  const unknown = await f.signIn(page, "mallory", PASSWORD);
  t.equal(unknown.statusCode, 401);
  t.match(unknown.body, /Wrong username or password./);
  const retried = await f.signIn(wrong);
  t.equal(retried.statusCode, 200, "the page shown again can be posted (new interaction and token)");
  t.match(retried.body, /Allow <strong>Photo Printer<\/strong>/);
});

t.test("a disabled user cannot sign in", async (t) => {
  const f = await authorizeFixture(t);
  await f.app.services.users.setEnabled(USERNAME, false);
  const res = await f.signIn(await f.authorize());
  t.equal(res.statusCode, 401);
  t.match(res.body, /Wrong username or password./);
});

t.test("the sign-in back-off: after 5 wrong passwords for a username, 429 with Retry-After", async (t) => {
  const f = await authorizeFixture(t);
  let page = await f.authorize();
  for (let i = 0; i < 5; i++) {
    page = await f.signIn(page, USERNAME, "wrong password");
    t.equal(page.statusCode, 401, `wrong password ${i + 1}`);
  }
  const blocked = await f.signIn(page);
  t.equal(blocked.statusCode, 429, "even the right password waits");
  t.equal(blocked.headers["retry-after"], "1");
  t.match(blocked.body, /Too many failed attempts. Wait 1 seconds, then try again./);
  t.match(blocked.body, /action="\/authorize\/sign-in"/, "the sign-in page, to try again");
  f.clock.advance(1);
  t.equal((await f.signIn(blocked)).statusCode, 200, "after the wait: signed in");
});

t.test("the sign-in rate limit (RATE_LIMIT_LOGIN per IP and minute) answers a 429 page", async (t) => {
  const f = await authorizeFixture(t, { RATE_LIMIT_LOGIN: "2" });
  const page = await f.authorize();
  t.equal((await f.signIn(page, USERNAME, "wrong password")).statusCode, 401);
  t.equal((await f.signIn(page, USERNAME, "wrong password")).statusCode, 401);
  const limited = await f.signIn(page);
  t.equal(limited.statusCode, 429);
  t.match(limited.headers["retry-after"], /^\d+$/);
  t.equal(limited.headers["content-type"], "text/html; charset=utf-8");
  t.match(limited.body, /Too many attempts. Wait \d+ seconds, then try again./);
});

t.test("deny: access_denied to the client, with state and iss", async (t) => {
  const f = await authorizeFixture(t);
  const consent = await f.signIn(await f.authorize());
  const res = await f.post("/authorize/consent", consent, { decision: "deny" });
  t.equal(res.statusCode, 303);
  t.equal(res.headers["cache-control"], "no-store");
  t.equal(res.headers.location, `${REDIRECT_URI}?error=access_denied&error_description=the+user+denied+the+request&state=xyz&iss=https%3A%2F%2Ftessera.test`);
  t.equal(await f.app.services.db.grant.count(), 0, "no consent remembered");
  const other = await f.post("/authorize/consent", consent, { decision: "maybe" });
  t.equal(other.statusCode, 400, "a decision other than allow or deny");
});

t.test("sign in as someone else: the session ends and the sign-in page returns", async (t) => {
  const f = await authorizeFixture(t);
  await f.app.services.users.create("bob", "bob's long password");
  const consent = await f.signIn(await f.authorize());
  t.match(consent.body, /<form method="post" action="\/authorize\/switch-account">/);
  t.match(consent.body, /Not alice\? Sign in as someone else<\/button>/);
  const sessionCookie = f.jar.cookies.get("__Host-tessera_session");
  const switched = await f.post("/authorize/switch-account", consent);
  t.equal(switched.statusCode, 200);
  t.match(switched.body, /action="\/authorize\/sign-in"/);
  const cleared = setCookies(switched).find((c) => c.name === "__Host-tessera_session");
  t.equal(cleared?.value, "", "the cookie is cleared");
  t.equal(f.jar.cookies.has("__Host-tessera_session"), false);
  const ended = await f.app.services.db.browserSession.findMany();
  t.equal(ended.length, 1);
  t.not(ended[0]!.endedAt, null, "the stored session is ended");
  // The old cookie no longer signs anyone in.
  const replay = await f.app.inject({ method: "GET", url: `/authorize?${new URL(`https://x/?${(await import("../../helpers/authorize.js")).authorizeQuery(f.clientId)}`).search.slice(1)}`, headers: { cookie: `__Host-tessera_session=${sessionCookie}` } });
  t.equal(replay.statusCode, 200);
  t.match(replay.body, /action="\/authorize\/sign-in"/);

  const asBob = await f.signIn(switched, "bob", "bob's long password");
  t.match(asBob.body, /signed in as <strong>bob<\/strong>/);
  // alice's consent page posted now (bob is signed in): asked again, as bob.
  const stale = await f.post("/authorize/consent", consent, { decision: "allow" });
  t.equal(stale.statusCode, 200);
  t.match(stale.body, /signed in as <strong>bob<\/strong>/);
  t.equal(await f.app.services.db.grant.count(), 0, "nothing allowed for alice or bob");
  const allowed = await f.post("/authorize/consent", asBob, { decision: "allow" });
  t.equal(allowed.statusCode, 303);
  const grant = await f.app.services.db.grant.findFirst();
  t.equal(grant?.userId, (await f.app.services.users.byUsername("bob")).id);
});

t.test("first-party clients skip the consent page; their grant is recorded", async (t) => {
  const f = await authorizeFixture(t);
  const res = await f.signIn(await f.authorize({ client_id: f.firstPartyId }));
  t.equal(res.statusCode, 303, "straight to the client");
  t.match(locationParams(res).code, /^[A-Za-z0-9_-]{43}$/);
  const grant = await f.app.services.db.grant.findFirst({ where: { clientId: f.firstPartyId } });
  t.equal(grant?.userId, f.userId);
  t.equal(grant?.scope, "read");
});

t.test("the pages work without a CSRF cookie in the browser yet; one cookie serves many interactions", async (t) => {
  const f = await authorizeFixture(t);
  const jar = new CookieJar();
  const first = await f.authorize({}, jar);
  const value = jar.cookies.get("__Host-tessera_csrf");
  const second = await f.authorize({ state: "2" }, jar);
  t.same(setCookies(second).filter((c) => c.name === "__Host-tessera_csrf"), [], "not set again");
  t.not(hidden(first.body, "csrf_token"), hidden(second.body, "csrf_token"), "each interaction has its own token");
  t.equal(jar.cookies.get("__Host-tessera_csrf"), value);
  t.equal((await f.signIn(first, undefined, undefined, jar)).statusCode, 200);
});

t.test("the consent page names several audiences, and says so when no scope is asked", async (t) => {
  const f = await authorizeFixture(t);
  const consent = await f.signIn(await f.authorize({ resource: ["https://api.example.test", "https://other.example.test"] }));
  t.match(consent.body, /<p>at these services \(audience\):<\/p>\n<ul><li><code>https:\/\/api.example.test<\/code><\/li><li><code>https:\/\/other.example.test<\/code><\/li><\/ul>/);
  const noScopes = await codeClient(f, { name: "No Scopes", scopes: [] });
  const page = await f.authorize({ client_id: noScopes, scope: undefined });
  t.equal(page.statusCode, 200);
  t.match(page.body, /<ul><li>no scope<\/li><\/ul>/);
});

t.test("an IPv6 loopback redirect URI: form-action allows http: (CSP cannot name an IPv6 host)", async (t) => {
  const f = await authorizeFixture(t);
  const native = await codeClient(f, { redirectUris: ["http://[::1]/callback"] });
  const page = await f.authorize({ client_id: native, redirect_uri: "http://[::1]:8080/callback" });
  t.equal(page.statusCode, 200);
  t.match(page.headers["content-security-policy"], /; form-action 'self' http:;/);
});
