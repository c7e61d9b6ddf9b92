import { generateKeyPairSync, randomUUID } from "node:crypto";
import t from "tap";
import { exportJWK, SignJWT } from "jose";
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
  t.ok(body.token_endpoint_auth_methods_supported.includes("none"), "public clients at /token (the code flow)");
  t.ok(Array.isArray(body.response_types_supported), "response_types_supported is REQUIRED by RFC 8414 §2");
});

t.test("the code flow's metadata: authorize endpoint, code only, S256 only, RFC 9207 iss, none where public clients may go", async (t) => {
  const { app } = await buildTestApp(t);
  const body = (await app.inject({ method: "GET", url: URL_PATH })).json();
  t.equal(body.authorization_endpoint, "https://tessera.test/authorize");
  t.strictSame(body.response_types_supported, ["code"]);
  t.strictSame(body.response_modes_supported, ["query"]);
  t.strictSame(body.code_challenge_methods_supported, ["S256"]);
  t.equal(body.authorization_response_iss_parameter_supported, true);
  t.strictSame(body.grant_types_supported, ["authorization_code", "client_credentials", "password", "refresh_token"]);
  t.strictSame(body.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]);
  t.strictSame(body.revocation_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"], "RFC 7009 §2.1: a public client revokes its own tokens");
  t.strictSame(body.introspection_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "private_key_jwt"], "never a public client");
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

t.test("RFC 8414 §2: with private_key_jwt offered, every endpoint that takes it names its signing algorithms", async (t) => {
  const { app } = await buildTestApp(t);
  const body = (await app.inject({ method: "GET", url: URL_PATH })).json();
  for (const endpoint of ["token_endpoint", "revocation_endpoint", "introspection_endpoint"]) {
    t.ok(body[`${endpoint}_auth_methods_supported`].includes("private_key_jwt"), `${endpoint} takes private_key_jwt`);
    t.strictSame(body[`${endpoint}_auth_signing_alg_values_supported`], body.token_endpoint_auth_signing_alg_values_supported, `${endpoint}_auth_signing_alg_values_supported`);
  }
});

t.test("the advertised assertion algorithms are exactly the ones the verifier accepts", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t);
  const advertised: string[] = (await app.inject({ method: "GET", url: URL_PATH })).json().token_endpoint_auth_signing_alg_values_supported;
  // Every asymmetric JWS algorithm jose can sign with, one key per key type and curve.
  const keyFor: Record<string, string> = {
    RS256: "rsa", RS384: "rsa", RS512: "rsa", PS256: "rsa", PS384: "rsa", PS512: "rsa",
    ES256: "p256", ES384: "p384", ES512: "p521", EdDSA: "ed25519", Ed25519: "ed25519",
  };
  // node:crypto key objects: a WebCrypto key is bound to one algorithm, these serve every alg of their type.
  const pairs = {
    rsa: generateKeyPairSync("rsa", { modulusLength: 2048 }),
    p256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
    p384: generateKeyPairSync("ec", { namedCurve: "P-384" }),
    p521: generateKeyPairSync("ec", { namedCurve: "P-521" }),
    ed25519: generateKeyPairSync("ed25519"),
  };
  const keys = await Promise.all(Object.entries(pairs).map(async ([kid, pair]) => ({ ...(await exportJWK(pair.publicKey)), kid })));
  const { clientId } = await createClient({ jwks: { keys } });
  const now = Math.floor(clock.now() / 1000);
  const accepted: string[] = [];
  for (const [alg, kid] of Object.entries(keyFor)) {
    const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: "https://tessera.test/token", iat: now, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg, kid })
      .sign(pairs[kid as keyof typeof pairs].privateKey);
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: form({ grant_type: "client_credentials", client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion }),
    });
    if (res.statusCode === 200) accepted.push(alg);
  }
  t.strictSame([...advertised].sort(), accepted.sort(), "advertised = accepted");
  t.notOk(advertised.some((a) => a === "none" || a.startsWith("HS")), "never none or HMAC");
});

t.test("RFC 8414 §3: an issuer with a path has its metadata at the well-known URI with the path appended", async (t) => {
  const { app } = await buildTestApp(t, { TESSERA_ISSUER: "https://auth.example.test/tenant-a" });
  const res = await app.inject({ method: "GET", url: `${URL_PATH}/tenant-a` });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^application\/json/);
  t.equal(res.json().issuer, "https://auth.example.test/tenant-a", "the issuer the URI was derived from");
  t.equal(res.json().token_endpoint, "https://auth.example.test/tenant-a/token");
  t.equal((await app.inject({ method: "GET", url: URL_PATH })).json().issuer, "https://auth.example.test/tenant-a", "and where a proxy that strips the path forwards it");
  const other = await app.inject({ method: "GET", url: `${URL_PATH}/tenant-b` });
  t.equal(other.statusCode, 404, "another tenant's URI is not ours");
  t.equal(other.json().error, "invalid_request");
});

t.test("RFC 8414 §3: a nested issuer path, and one with characters the router would read as syntax", async (t) => {
  for (const path of ["org/tenant-a", "t:1*"]) {
    const { app } = await buildTestApp(t, { TESSERA_ISSUER: `https://auth.example.test/${path}` });
    const res = await app.inject({ method: "GET", url: `${URL_PATH}/${encodeURI(path)}` });
    t.equal(res.statusCode, 200, path);
    t.equal(res.json().issuer, `https://auth.example.test/${path}`);
  }
});

t.test("an issuer without a path has no suffixed metadata URI", async (t) => {
  const { app } = await buildTestApp(t);
  t.equal((await app.inject({ method: "GET", url: `${URL_PATH}/tenant-a` })).statusCode, 404);
});
