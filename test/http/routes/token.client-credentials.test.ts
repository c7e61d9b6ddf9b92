import t from "tap";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

t.test("client_secret_basic issues an RFC 9068 token for the default audience", async (t) => {
  const { app, createClient, clock } = await buildTestApp(t);
  const { clientId, clientSecret } = await createClient();
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(clientId, clientSecret) },
    payload: form({ grant_type: "client_credentials" }),
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["cache-control"], "no-store");
  const body = res.json();
  t.equal(body.token_type, "Bearer");
  t.equal(body.expires_in, 900);
  t.equal(body.scope, "read write");
  const header = decodeProtectedHeader(body.access_token);
  t.equal(header.typ, "at+jwt");
  t.equal(header.alg, "RS256");
  t.equal(header.kid, app.services.keys.signer?.kid);
  const claims = decodeJwt(body.access_token);
  t.equal(claims.iss, "https://tessera.test");
  t.equal(claims.sub, clientId);
  t.equal(claims.client_id, clientId);
  t.equal(claims.aud, "https://api.example.test");
  t.equal(claims.iat, Math.floor(clock.now() / 1000));
  t.equal(claims.exp, claims.iat! + 900);
  t.type(claims.jti, "string");
});
