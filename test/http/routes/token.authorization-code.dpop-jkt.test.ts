// dpop_jkt (RFC 9449 §10): /authorize binds the code to the thumbprint of a DPoP key, and the code is
// exchanged only with a proof of that key: without one, or with another key, invalid_grant, and the
// code stays usable by its holder.
import t from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { decodeJwt } from "jose";
import { basic, form } from "../../helpers/app.js";
import { authorizeFixture, CookieJar, locationParams, REDIRECT_URI } from "../../helpers/authorize.js";
import { issueCode } from "../../helpers/code-flow.js";
import { dpopKey, dpopProof, type DpopKeyPair } from "../../helpers/dpop.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const JKT = sha256("the client's DPoP key");
const TOKEN_URL = "https://tessera.test/token";
const API = "https://api.example.test";

const f = await authorizeFixture(t);
const own = await f.createClient({ name: "Own", grantTypes: ["authorization_code", "refresh_token"], redirectUris: [REDIRECT_URI], firstParty: true });

t.test("/authorize stores dpop_jkt on the code; a malformed one is refused by redirect", async (t) => {
  const jar = new CookieJar();
  const page = await f.authorize({ client_id: own.clientId, dpop_jkt: JKT }, jar);
  const done = await f.signIn(page, undefined, undefined, jar);
  t.equal(done.statusCode, 303);
  const code = await f.app.services.authorizationCodes.findByDigest(sha256(locationParams(done).code!));
  t.equal(code!.dpopJkt, JKT);
  const plain = await f.authorize({ client_id: own.clientId, state: "plain" }, jar);
  t.equal((await f.app.services.authorizationCodes.findByDigest(sha256(locationParams(plain).code!)))!.dpopJkt, null, "without dpop_jkt: not bound");

  for (const bad of ["short", `${JKT}A`, `${JKT.slice(0, 42)}=`]) {
    const res = await f.authorize({ client_id: own.clientId, dpop_jkt: bad }, jar);
    t.equal(res.statusCode, 302);
    t.same(locationParams(res), { error: "invalid_request", error_description: "dpop_jkt must be a JWK SHA-256 thumbprint: 43 base64url characters", state: "xyz", iss: "https://tessera.test" });
  }
});

t.test("a bound code: only a proof of that key at /token exchanges it; without one or with another, invalid_grant and the code stays", async (t) => {
  const key = await dpopKey();
  const issued = await issueCode(f.app, f.userId, own.clientId, { redirectUri: REDIRECT_URI, audience: [API], scope: ["read"], dpopJkt: key.jkt });
  const exchange = async (proofKey?: DpopKeyPair) =>
    f.app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(own.clientId, own.clientSecret), ...(proofKey && { dpop: await dpopProof(proofKey, { htu: TOKEN_URL, nowSeconds: f.clock.now() / 1000 }) }) },
      payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: REDIRECT_URI }),
    });
  const none = await exchange();
  expectOAuthError(t, none, 400, "invalid_grant");
  t.equal(none.json().error_description, "the authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof of that key");
  expectOAuthError(t, await exchange(await dpopKey()), 400, "invalid_grant");
  t.equal((await f.app.services.authorizationCodes.findByDigest(sha256(issued.code)))!.usedAt, null, "not consumed by the refusals");
  const res = await exchange(key);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().token_type, "DPoP");
  t.same(decodeJwt(res.json().access_token).cnf, { jkt: key.jkt }, "the access token is bound to the same key");
});

t.test("an unbound code needs no proof", async (t) => {
  const issued = await issueCode(f.app, f.userId, own.clientId, { redirectUri: REDIRECT_URI, audience: [API], scope: ["read"] });
  const params = { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: REDIRECT_URI };
  const res = await f.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(own.clientId, own.clientSecret) }, payload: form(params) });
  t.equal(res.statusCode, 200, res.body);
});
