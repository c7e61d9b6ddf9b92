// max_age and auth_time end to end (OIDC Core §3.1.2.1): /authorize with max_age asks for the password
// again once the sign-in is older, and the ID token's auth_time is the time of the sign-in that the
// code came from, whether it was fresh or within max_age.
import t from "tap";
import { decodeJwt } from "jose";
import { authorizeFixture, locationParams, REDIRECT_URI, VERIFIER } from "../../helpers/authorize.js";
import { basic, form } from "../../helpers/app.js";
import { FORM } from "../../helpers/oauth.js";

const f = await authorizeFixture(t, {}, { firstParty: true, scopes: ["openid", "read"] });

async function idTokenFor(code: string) {
  const res = await f.app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(f.clientId, f.clientSecret) },
    payload: form({ grant_type: "authorization_code", code, code_verifier: VERIFIER, redirect_uri: REDIRECT_URI }),
  });
  t.equal(res.statusCode, 200, res.body);
  return decodeJwt((res.json() as { id_token: string }).id_token);
}

t.test("auth_time is the sign-in's; max_age exceeded asks again and auth_time moves", async (t) => {
  const signedInAt = Math.floor(f.clock.now() / 1000);
  const first = await f.signIn(await f.authorize({ scope: "openid", nonce: "one" }));
  t.equal(first.statusCode, 303);
  t.equal((await idTokenFor(locationParams(first).code!)).auth_time, signedInAt);

  f.clock.advance(120);
  // Within max_age (300 s): a redirect at once, and auth_time is still the first sign-in.
  const within = await f.authorize({ scope: "openid", max_age: "300" });
  t.equal(within.statusCode, 302, "no password asked");
  t.equal((await idTokenFor(locationParams(within).code!)).auth_time, signedInAt);

  // Older than max_age (60 s): the sign-in page again; the new code's auth_time is now.
  const page = await f.authorize({ scope: "openid", max_age: "60" });
  t.equal(page.statusCode, 200, "the sign-in page");
  t.match(page.body, /name="password"/);
  const again = await f.signIn(page);
  t.equal(again.statusCode, 303);
  const claims = await idTokenFor(locationParams(again).code!);
  t.equal(claims.auth_time, Math.floor(f.clock.now() / 1000));
  t.equal(claims.auth_time, signedInAt + 120);
});
