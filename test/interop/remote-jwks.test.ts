// A resource server's view: a token fetched over real HTTP, verified with jose against the JWKS
// fetched over real HTTP, as a resource server would (createRemoteJWKSet).
import t from "tap";
import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import { basic, buildTestApp, form } from "../helpers/app.js";

const AUDIENCE = "https://api.example.test";

t.test("a token from POST /token verifies with createRemoteJWKSet against the served JWKS", async (t) => {
  const { app, config, clock, createClient } = await buildTestApp(t);
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  const { clientId, clientSecret } = await createClient();

  const res = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, clientSecret) },
    body: form({ grant_type: "client_credentials", scope: "read" }),
  });
  t.equal(res.status, 200);
  t.equal(res.headers.get("cache-control"), "no-store");
  const { access_token: token } = (await res.json()) as { access_token: string };

  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  // The tokens carry the test clock's time, so the verifier is told what "now" is.
  const currentDate = new Date(clock.now());
  const verified = await jwtVerify(token, jwks, {
    issuer: config.issuer,
    audience: AUDIENCE,
    typ: "at+jwt",
    algorithms: ["RS256"],
    currentDate,
  });
  t.equal(verified.protectedHeader.kid, app.services.keys.signer?.kid);
  t.equal(verified.payload.iss, "https://tessera.test");
  t.equal(verified.payload.sub, clientId);
  t.equal(verified.payload.client_id, clientId);
  t.equal(verified.payload.scope, "read");

  t.test("the wrong audience is rejected", async (t) => {
    await t.rejects(
      jwtVerify(token, jwks, { issuer: config.issuer, audience: "https://other.example.test", typ: "at+jwt", algorithms: ["RS256"], currentDate }),
      { code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" },
    );
  });

  t.test("the wrong issuer is rejected", async (t) => {
    await t.rejects(
      jwtVerify(token, jwks, { issuer: base, audience: AUDIENCE, typ: "at+jwt", algorithms: ["RS256"], currentDate }),
      { code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "iss" },
    );
  });

  t.test("a verifier expecting another typ rejects it", async (t) => {
    await t.rejects(
      jwtVerify(token, jwks, { issuer: config.issuer, audience: AUDIENCE, typ: "JWT", algorithms: ["RS256"], currentDate }),
      { code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "typ" },
    );
  });

  t.test("after its lifetime the token is rejected as expired", async (t) => {
    const later = new Date(clock.now() + (config.accessTokenTtlSeconds + 1) * 1000);
    await t.rejects(
      jwtVerify(token, jwks, { issuer: config.issuer, audience: AUDIENCE, typ: "at+jwt", algorithms: ["RS256"], currentDate: later }),
      errors.JWTExpired,
    );
  });

  t.test("a token signed by another tessera (another key) finds no key in this JWKS", async (t) => {
    const other = await buildTestApp(t);
    const client = await other.createClient();
    const foreign = await other.app.inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client.clientId, client.clientSecret) },
      payload: form({ grant_type: "client_credentials" }),
    });
    t.equal(foreign.statusCode, 200);
    await t.rejects(
      jwtVerify(foreign.json().access_token, jwks, { issuer: config.issuer, audience: AUDIENCE, typ: "at+jwt", algorithms: ["RS256"], currentDate }),
      errors.JWKSNoMatchingKey,
    );
  });
});
