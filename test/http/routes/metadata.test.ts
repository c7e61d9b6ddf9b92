import t from "tap";
import { basic, buildTestApp, form } from "../../helpers/app.js";

const URL_PATH = "/.well-known/oauth-authorization-server";

t.test("RFC 8414 metadata derives every endpoint from the configured issuer", async (t) => {
  const { app, config } = await buildTestApp(t);
  const res = await app.inject({ method: "GET", url: URL_PATH });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^application\/json/);
  const body = res.json();
  t.equal(body.issuer, config.issuer);
  t.equal(body.issuer, "https://tessera.test");
  t.equal(body.token_endpoint, "https://tessera.test/token");
  t.equal(body.jwks_uri, "https://tessera.test/.well-known/jwks.json");
  t.equal(body.revocation_endpoint, "https://tessera.test/revoke");
  t.equal(body.introspection_endpoint, "https://tessera.test/introspect");
  t.ok(Array.isArray(body.grant_types_supported));
  t.ok(body.grant_types_supported.includes("client_credentials"), "client_credentials is supported");
  t.ok(Array.isArray(body.token_endpoint_auth_methods_supported));
  t.ok(body.token_endpoint_auth_methods_supported.includes("client_secret_basic"));
  t.ok(body.token_endpoint_auth_methods_supported.includes("client_secret_post"));
  t.notOk(body.token_endpoint_auth_methods_supported.includes("none"), "no public clients at /token");
  t.ok(Array.isArray(body.response_types_supported), "response_types_supported is REQUIRED by RFC 8414 §2");
});

t.test("an issuer with a path keeps it in every URL", async (t) => {
  const { app } = await buildTestApp(t, { TESSERA_ISSUER: "https://auth.example.test/tenant-a/" });
  const body = (await app.inject({ method: "GET", url: URL_PATH })).json();
  t.equal(body.issuer, "https://auth.example.test/tenant-a");
  t.equal(body.token_endpoint, "https://auth.example.test/tenant-a/token");
  t.equal(body.jwks_uri, "https://auth.example.test/tenant-a/.well-known/jwks.json");
});

t.test("the advertised endpoints are the ones this server answers on", async (t) => {
  const { app, createClient } = await buildTestApp(t);
  const body = (await app.inject({ method: "GET", url: URL_PATH })).json();

  const jwks = await app.inject({ method: "GET", url: new URL(body.jwks_uri).pathname });
  t.equal(jwks.statusCode, 200);
  t.equal(jwks.json().keys.length, 1);

  const { clientId, clientSecret } = await createClient();
  const token = await app.inject({
    method: "POST",
    url: new URL(body.token_endpoint).pathname,
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, clientSecret) },
    payload: form({ grant_type: "client_credentials" }),
  });
  t.equal(token.statusCode, 200);
  const accessToken: string = token.json().access_token;
  t.type(accessToken, "string");

  for (const endpoint of ["revocation_endpoint", "introspection_endpoint"]) {
    const res = await app.inject({
      method: "POST",
      url: new URL(body[endpoint]).pathname,
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, clientSecret) },
      payload: form({ token: accessToken }),
    });
    t.equal(res.statusCode, 200, `${endpoint} answers`);
  }
});
