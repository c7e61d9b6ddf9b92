// /authorize end to end with app.inject(): sign-in page, consent page, code redirect, and the
// browser session and remembered consent that make the next request redirect at once.
import t from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { decodeJwt } from "jose";
import { basic, form } from "../../helpers/app.js";
import { authorizeFixture, CHALLENGE, locationParams, REDIRECT_URI, VERIFIER } from "../../helpers/authorize.js";
import { setCookies } from "../../helpers/cookies.js";

t.test("sign in, allow, code; then a second request redirects at once", async (t) => {
  const f = await authorizeFixture(t);
  const page = await f.authorize();
  t.equal(page.statusCode, 200);
  t.equal(page.headers["content-type"], "text/html; charset=utf-8");
  t.match(page.body, /<form method="post" action="\/authorize\/sign-in">/);
  t.match(page.body, /<input type="text" id="username" name="username"/);
  t.match(page.body, /<input type="password" id="password" name="password"/);
  t.equal((page.body.match(/<button type="submit"/g) ?? []).length, 1, "one submit button");

  const consent = await f.signIn(page);
  t.equal(consent.statusCode, 200, "a third-party client asks for consent");
  t.match(consent.body, /Allow <strong>Photo Printer<\/strong> access\?/);
  t.match(consent.body, /<li><code>read<\/code><\/li>/);
  t.match(consent.body, /<li><code>https:\/\/api.example.test<\/code><\/li>/);
  t.match(consent.body, /signed in as <strong>alice<\/strong>/);
  t.match(consent.body, /<button type="submit" name="decision" value="allow"/);
  t.match(consent.body, /<button type="submit" name="decision" value="deny"/);

  const done = await f.post("/authorize/consent", consent, { decision: "allow" });
  t.equal(done.statusCode, 303, "303 after a form post");
  t.equal(done.headers["cache-control"], "no-store");
  const location = new URL(done.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  const params = locationParams(done);
  t.same(Object.keys(params).sort(), ["code", "iss", "state"]);
  t.equal(params.state, "xyz");
  t.equal(params.iss, "https://tessera.test");
  t.match(params.code, /^[A-Za-z0-9_-]{43}$/);

  const row = await f.app.services.db.authorizationCode.findUnique({ where: { digest: sha256(params.code!) } });
  t.ok(row, "the code is stored by its digest");
  t.equal(row!.clientId, f.clientId);
  t.equal(row!.userId, f.userId);
  t.equal(row!.codeChallenge, CHALLENGE);
  t.equal(row!.redirectUri, REDIRECT_URI);
  t.equal(row!.redirectUriSent, true);
  t.equal(row!.scope, "read");
  t.equal(row!.audience, "https://api.example.test");
  t.equal(await f.app.services.db.authorizationCode.count({ where: { digest: params.code! } }), 0, "never the code itself");

  // The code exchanges at /token (h2's grant) for tokens of the signed-in user.
  const exchange = await f.app.inject({
    method: "POST",
    url: "/token",
    headers: { authorization: basic(f.clientId, f.clientSecret), "content-type": "application/x-www-form-urlencoded" },
    payload: form({ grant_type: "authorization_code", code: params.code!, code_verifier: VERIFIER, redirect_uri: REDIRECT_URI }),
  });
  t.equal(exchange.statusCode, 200, "the code exchanges at /token");
  const tokens = exchange.json() as { access_token: string; refresh_token?: string; scope: string };
  t.equal(decodeJwt(tokens.access_token).sub, f.userId);
  t.equal(tokens.scope, "read");
  t.type(tokens.refresh_token, "string", "the client may refresh");

  const again = await f.authorize({ state: "second" });
  t.equal(again.statusCode, 302, "a live session and a remembered consent: a redirect at once (302 to a GET)");
  const second = locationParams(again);
  t.equal(second.state, "second");
  t.not(second.code, params.code);
  t.same(setCookies(again), [], "no cookie is set");
});
