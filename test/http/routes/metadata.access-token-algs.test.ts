// A resource server takes its allowed algorithms from the metadata (README's rs.mjs), not a pinned
// RS256: every SIGNING_ALG's tokens verify with jose given access_token_signing_alg_values_supported.
import { createLocalJWKSet, jwtVerify } from "jose";
import t from "tap";
import { basic, buildTestApp, form } from "../../helpers/app.js";

t.test("access_token_signing_alg_values_supported lists every SIGNING_ALG", async (t) => {
  const { app } = await buildTestApp(t);
  const body = (await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json();
  t.same(body.access_token_signing_alg_values_supported, ["RS256", "PS256", "ES256", "EdDSA"]);
});

for (const alg of ["RS256", "PS256", "ES256", "EdDSA"]) {
  t.test(`a ${alg} access token verifies with the algorithms the metadata gives`, async (t) => {
    const { app, config, clock, createClient } = await buildTestApp(t, { SIGNING_ALG: alg });
    const metadata = (await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })).json();
    const jwks = createLocalJWKSet((await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json());
    const { clientId, clientSecret } = await createClient();
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, clientSecret) },
      payload: form({ grant_type: "client_credentials" }),
    });
    t.equal(res.statusCode, 200);
    const { protectedHeader } = await jwtVerify(res.json().access_token, jwks, {
      issuer: metadata.issuer,
      typ: "at+jwt",
      algorithms: metadata.access_token_signing_alg_values_supported,
      currentDate: new Date(clock.now()),
    });
    t.equal(protectedHeader.alg, alg);
    t.equal(metadata.issuer, config.issuer);
  });
}
