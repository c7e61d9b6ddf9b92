// dpop_jkt (RFC 9449 §10): /authorize binds the code to the thumbprint of a DPoP key, and the code is
// exchanged only with a proof of that key: without one, or with another key, invalid_grant, and the
// code stays usable by its holder. The proof itself is checked by the /token route (crypto/dpop.ts),
// which gives the grant the key's thumbprint (GrantContext.dpop); the grant is called here with it.
import t from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { handleTokenRequest } from "../../../src/domain/token-request.js";
import { InvalidGrant } from "../../../src/errors/oauth.js";
import { basic, form } from "../../helpers/app.js";
import { authorizeFixture, CookieJar, locationParams, REDIRECT_URI } from "../../helpers/authorize.js";
import { issueCode } from "../../helpers/code-flow.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const JKT = sha256("the client's DPoP key");
const OTHER_JKT = sha256("another key");
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

t.test("a bound code: no proof at /token is invalid_grant, and the code stays for its holder", async (t) => {
  const issued = await issueCode(f.app, f.userId, own.clientId, { redirectUri: REDIRECT_URI, audience: [API], scope: ["read"], dpopJkt: JKT });
  const params = { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: REDIRECT_URI };
  const res = await f.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(own.clientId, own.clientSecret) }, payload: form(params) });
  expectOAuthError(t, res, 400, "invalid_grant");
  t.equal(res.json().error_description, "the authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof of that key");

  const client = f.app.services.clients.get(own.clientId)!;
  await t.rejects(handleTokenRequest(f.app.services, client, params, { jkt: OTHER_JKT }), InvalidGrant, "another key: invalid_grant");
  t.equal((await f.app.services.authorizationCodes.findByDigest(sha256(issued.code)))!.usedAt, null, "not consumed by the refusals");
  const tokens = await handleTokenRequest(f.app.services, client, params, { jkt: JKT });
  t.type(tokens.access_token, "string", "the proof of the bound key exchanges it");
});

t.test("an unbound code needs no proof", async (t) => {
  const issued = await issueCode(f.app, f.userId, own.clientId, { redirectUri: REDIRECT_URI, audience: [API], scope: ["read"] });
  const params = { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: REDIRECT_URI };
  const res = await f.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(own.clientId, own.clientSecret) }, payload: form(params) });
  t.equal(res.statusCode, 200, res.body);
});
