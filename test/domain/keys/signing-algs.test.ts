// SIGNING_ALG: RS256 by default; PS256, ES256 and EdDSA as configured. For each, a token from
// POST /token verifies with jose against the app's own JWKS with the right `alg` header, and the
// JWKS entries carry their alg and only public members.
import t from "tap";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { basic, buildTestApp, form, testConfig, type TestApp } from "../../helpers/app.js";
import { runCli } from "../../helpers/cli.js";
import { SettableClock } from "../../helpers/clock.js";
import { FORM } from "../../helpers/oauth.js";
import { storedSigningKeys } from "../../helpers/stored-keys.js";

// Two CLI processes (each compiling with tsx) and several apps: slow on a busy machine.
t.setTimeout(300_000);

const QUIET = { CACHE_REFRESH: "1h" }; // no background reloads: the tests call refresh() themselves

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

t.test("changing SIGNING_ALG on a restart: the new alg's key is pending first, then takes over; one signer at a time", async (t) => {
  const base = await testConfig(t);
  const env = { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const clock = new SettableClock();
  const first = await buildTestApp(t, { ...env, SIGNING_ALG: "RS256" }, clock);
  const creds = await first.createClient();
  const rsKid = first.app.services.keys.signer!.kid;
  const rsToken = await accessToken(first.app, creds);
  await first.app.close();

  clock.advance(10);
  const second = await buildTestApp(t, { ...env, SIGNING_ALG: "ES256" }, clock);
  const states = async () => (await second.app.services.keyAdmin.summaries()).map((k) => `${k.alg} ${k.state}`);
  t.same(await states(), ["RS256 active", "ES256 pending"], "the ES256 key waits for its activation delay");
  const [, esKey] = await second.app.services.keyAdmin.summaries();
  t.equal(esKey!.activatesAt.getTime(), clock.now() + second.config.keyActivationDelaySeconds * 1000, "KEY_ACTIVATION_DELAY, like any rotation");
  t.equal(second.app.services.keys.signer?.kid, rsKid, "the RS256 key still signs");
  t.same(decodeProtectedHeader(await accessToken(second.app, creds)), { alg: "RS256", typ: "at+jwt", kid: rsKid });
  t.same((await servedJwks(second.app)).keys.map((k) => [k.kid, k.alg]), [[rsKid, "RS256"], [esKey!.kid, "ES256"]], "the ES256 key is published before it signs");
  t.ok(second.logs.some((line) => line.includes("SIGNING_ALG changed")), "the start-up says so");

  clock.advance(second.config.keyActivationDelaySeconds);
  await second.app.services.keys.refresh();
  t.same(await states(), ["RS256 retired", "ES256 active"], "then the ES256 key signs and the RS256 one retires");
  const esToken = await accessToken(second.app, creds);
  t.same(decodeProtectedHeader(esToken), { alg: "ES256", typ: "at+jwt", kid: esKey!.kid });
  const jwks = await servedJwks(second.app);
  t.same(jwks.keys.map((k) => k.alg), ["RS256", "ES256"], "both keys are published while the RS256 tokens live");
  const currentDate = new Date(clock.now());
  for (const token of [rsToken, esToken]) {
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: base.issuer, audience: AUDIENCE, currentDate });
    t.equal(protectedHeader.alg, decodeProtectedHeader(token).alg);
  }
  await second.app.close();

  const third = await buildTestApp(t, { ...env, SIGNING_ALG: "ES256" }, clock);
  t.equal(third.app.services.keys.signer?.kid, esKey!.kid, "a later restart with the same SIGNING_ALG makes no key");
  t.equal((await third.app.services.keyAdmin.summaries()).length, 2);
});

t.test("two instances restarting at once with a new SIGNING_ALG make one pending key", async (t) => {
  const base = await testConfig(t);
  const env = { ...QUIET, DATABASE_URL: base.databaseUrl, TESSERA_KEK: base.kek! };
  const clock = new SettableClock();
  await (await buildTestApp(t, { ...env, SIGNING_ALG: "RS256" }, clock)).app.close();
  const [a] = await Promise.all([buildTestApp(t, { ...env, SIGNING_ALG: "EdDSA" }, clock), buildTestApp(t, { ...env, SIGNING_ALG: "EdDSA" }, clock)]);
  t.same((await a.app.services.keyAdmin.summaries()).map((k) => `${k.alg} ${k.state}`), ["RS256 active", "EdDSA pending"]);
});

t.test("retiring the active key while a key of another alg is pending: the pending key takes over at once", async (t) => {
  const { app, config, createClient } = await buildTestApp(t, QUIET);
  const creds = await createClient();
  const rsKid = app.services.keys.signer!.kid;
  const pending = await app.services.keyAdmin.rotate("test", false, "PS256");
  t.same([pending.alg, pending.state], ["PS256", "pending"]);
  await app.services.keyAdmin.retire(rsKid, "test");
  await app.services.keys.refresh();
  t.same(decodeProtectedHeader(await accessToken(app, creds)), { alg: "PS256", typ: "at+jwt", kid: pending.kid });
  t.equal((await storedSigningKeys(config.databaseUrl)).length, 2, "no third key was made");
});

t.test("tessera keys rotate follows the database's alg, not the shell's SIGNING_ALG, unless --alg says otherwise", async (t) => {
  const { app, config } = await buildTestApp(t, QUIET);
  const env = { ...process.env, DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek!, TESSERA_ISSUER: config.issuer };
  const tessera = (extra: Record<string, string>, ...args: string[]) => runCli([...args, "--json"], { env: { ...env, ...extra } });
  t.equal(app.services.keys.signer?.alg, "RS256");

  const followed = await tessera({ SIGNING_ALG: "ES256" }, "keys", "rotate");
  t.equal(followed.code, 0, followed.stderr);
  t.match(JSON.parse(followed.stdout), { alg: "RS256", state: "pending" }, "SIGNING_ALG=ES256 in the shell: still an RS256 key");

  const switched = await tessera({}, "keys", "rotate", "--alg", "ES256");
  t.equal(switched.code, 0, switched.stderr);
  t.match(JSON.parse(switched.stdout), { alg: "ES256", state: "pending" }, "--alg ES256: an ES256 key, pending like any rotation");

  const bad = await tessera({}, "keys", "rotate", "--alg", "HS256");
  t.equal(bad.code, 1);
  // With --json the error is JSON, on stderr's last line.
  t.same(JSON.parse(bad.stderr.trim().split("\n").at(-1)!), { error: "invalid_request", error_description: "--alg: one of RS256, PS256, ES256, EdDSA" });
  t.same((await storedSigningKeys(config.databaseUrl)).map((k) => k.alg), ["RS256", "RS256", "ES256"]);
});
