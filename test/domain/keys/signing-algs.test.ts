// SIGNING_ALG: RS256 by default; PS256, ES256 and EdDSA as configured. For each, a token from
// POST /token verifies with jose against the app's own JWKS with the right `alg` header, and the
// JWKS entries carry their alg and only public members.
import t from "tap";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { basic, buildTestApp, form, testConfig, type TestApp } from "../../helpers/app.js";
import { FORM } from "../../helpers/oauth.js";

const AUDIENCE = "https://api.example.test";
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const EXPECTED = {
  RS256: { kty: "RSA", crv: undefined },
  PS256: { kty: "RSA", crv: undefined },
  ES256: { kty: "EC", crv: "P-256" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
} as const;
type Alg = keyof typeof EXPECTED;
const ALGS = Object.keys(EXPECTED) as Alg[];

type Creds = { clientId: string; clientSecret: string };

async function accessToken(app: TestApp["app"], creds: Creds): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "client_credentials", scope: "read" }),
  });
  if (res.statusCode !== 200) throw new Error(`/token answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { access_token: string }).access_token;
}

async function servedJwks(app: TestApp["app"]): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  return JSON.parse(res.body) as JSONWebKeySet;
}

t.test("RS256 is the default", async (t) => {
  const { app, config, createClient } = await buildTestApp(t);
  t.equal(config.signingAlg, "RS256");
  const token = await accessToken(app, await createClient());
  t.equal(decodeProtectedHeader(token).alg, "RS256");
  t.same((await servedJwks(app)).keys.map((k) => k.alg), ["RS256"]);
});

for (const alg of ALGS) {
  t.test(`SIGNING_ALG=${alg}`, async (t) => {
    const { app, config, clock, createClient } = await buildTestApp(t, { SIGNING_ALG: alg });
    const creds = await createClient();
    const token = await accessToken(app, creds);
    const jwks = await servedJwks(app);
    const currentDate = new Date(clock.now());

    t.test("the JWKS entry names its alg and holds only public members", async (t) => {
      t.equal(jwks.keys.length, 1);
      const [jwk] = jwks.keys;
      t.equal(jwk?.alg, alg);
      t.equal(jwk?.use, "sig");
      t.equal(jwk?.kty, EXPECTED[alg].kty);
      t.equal(jwk?.crv, EXPECTED[alg].crv);
      t.equal(jwk?.kid, app.services.keys.signer?.kid);
      t.same(PRIVATE_MEMBERS.filter((m) => jwk && m in jwk), [], "no private members");
    });

    t.test("a token verifies with jose against the JWKS, with the right alg header", async (t) => {
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: config.issuer,
        audience: AUDIENCE,
        typ: "at+jwt",
        algorithms: [alg],
        currentDate,
      });
      t.same(protectedHeader, { alg, typ: "at+jwt", kid: jwks.keys[0]!.kid });
      t.equal(payload.client_id, creds.clientId);
      t.equal(payload.scope, "read");
    });

    t.test("a verifier that allows only the other algorithms rejects it", async (t) => {
      await t.rejects(
        jwtVerify(token, createLocalJWKSet(jwks), { issuer: config.issuer, typ: "at+jwt", algorithms: ALGS.filter((a) => a !== alg), currentDate }),
        { code: "ERR_JOSE_ALG_NOT_ALLOWED" },
      );
    });

    t.test("tessera's own introspection accepts it", async (t) => {
      const res = await app.inject({
        method: "POST",
        url: "/introspect",
        headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
        payload: form({ token }),
      });
      t.equal(res.statusCode, 200);
      t.match(res.json(), { active: true, client_id: creds.clientId });
    });

    t.test("a rotation keeps the alg, and both keys verify", async (t) => {
      const created = await app.services.keyAdmin.rotate("test", true);
      await app.services.keys.refresh();
      t.equal(created.alg, alg);
      const newToken = await accessToken(app, creds);
      t.same(decodeProtectedHeader(newToken), { alg, typ: "at+jwt", kid: created.kid });
      const rotated = await servedJwks(app);
      t.same(rotated.keys.map((k) => [k.kid, k.alg]), [[jwks.keys[0]!.kid, alg], [created.kid, alg]]);
      for (const [name, jwt] of [["old", token], ["new", newToken]] as const) {
        const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(rotated), { issuer: config.issuer, audience: AUDIENCE, algorithms: [alg], currentDate });
        t.equal(protectedHeader.alg, alg, `the ${name} key's token verifies`);
      }
    });
  });
}

t.test("changing SIGNING_ALG on a restart: new tokens use the new alg, tokens of the old one still verify", async (t) => {
  const base = await testConfig(t);
  const env = { DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const first = await buildTestApp(t, { ...env, SIGNING_ALG: "RS256" });
  const creds = await first.createClient();
  const rsToken = await accessToken(first.app, creds);
  await first.app.close();

  const second = await buildTestApp(t, { ...env, SIGNING_ALG: "ES256" });
  const esToken = await accessToken(second.app, creds);
  t.equal(decodeProtectedHeader(esToken).alg, "ES256");
  const jwks = await servedJwks(second.app);
  t.same(jwks.keys.map((k) => k.alg), ["RS256", "ES256"], "both keys are published");
  const currentDate = new Date(second.clock.now());
  for (const token of [rsToken, esToken]) {
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: base.issuer, audience: AUDIENCE, currentDate });
    t.equal(protectedHeader.alg, decodeProtectedHeader(token).alg);
  }
});
