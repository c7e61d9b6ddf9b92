// Input that a database refuses must be refused first, with a 4xx, never reach it as a 500:
// U+0000 and other control characters in admin input (PostgreSQL refuses U+0000 in text), a
// client-assertion jti with U+0000 or too long for an index (PostgreSQL's btree refuses entries over
// ~2.7 KB), and a sign-in whose client was deleted after it was looked up (a foreign key refuses the
// new refresh family). Each is checked on both databases: on SQLite, which would store what
// PostgreSQL refuses, the answer is the same 4xx.
import { randomUUID } from "node:crypto";
import t from "tap";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { expectOAuthError, FORM } from "../helpers/oauth.js";

const API = "https://api.example.test";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const { app, config, clock, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h" });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const adminToken: string = (
  await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(admin.clientId, admin.clientSecret) }, payload: form({ grant_type: "client_credentials" }) })
).json().access_token;
const adminCall = (method: "POST" | "PATCH", url: string, payload: Record<string, unknown>) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${adminToken}` }, payload });

t.test("control characters in an audience at the admin API: 400 invalid_request, nothing stored", async (t) => {
  const target = await createClient();
  const before = (await app.services.clientAdmin.list()).length;
  for (const audience of ["https://x\u0000", "\u0000https://x", "https://x/\u0000y", "https://x/\u0001", "https://x/\u007f", "https://x\t"]) {
    const created = await adminCall("POST", "/admin/clients", { name: "nul", grant_types: ["client_credentials"], audiences: [API, audience] });
    expectOAuthError(t, created, 400, "invalid_request");
    t.match(created.json().error_description, /^audience: /, "names the field");
    expectOAuthError(t, await adminCall("PATCH", `/admin/clients/${target.clientId}`, { audiences: [audience] }), 400, "invalid_request");
  }
  t.equal((await app.services.clientAdmin.list()).length, before, "no client registered");
  t.strictSame((await app.services.clientAdmin.show(target.clientId)).audiences, [API, "https://other.example.test"], "the patched client is unchanged");
});

t.test("U+0000 in a kid at POST /admin/keys/:kid/retire: 400 invalid_request", async (t) => {
  const res = await app.inject({ method: "POST", url: "/admin/keys/a%00b/retire", headers: { authorization: `Bearer ${adminToken}` } });
  expectOAuthError(t, res, 400, "invalid_request");
  const unknown = await app.inject({ method: "POST", url: "/admin/keys/no-such-kid/retire", headers: { authorization: `Bearer ${adminToken}` } });
  expectOAuthError(t, unknown, 404, "invalid_request"); // control: a well-formed unknown kid is 404
});

t.test("private_key_jwt: a jti with U+0000 or longer than 256 characters is 401 invalid_client", async (t) => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1" };
  const { clientId } = await createClient({ jwks: { keys: [jwk] } });
  const now = Math.floor(clock.now() / 1000);
  const withJti = async (jti: string) => {
    const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: `${config.issuer}/token`, iat: now, exp: now + 60, jti })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);
    return app.inject({ method: "POST", url: "/token", headers: FORM, payload: form({ grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }) });
  };
  for (const [name, jti] of [["U+0000", "a\u0000b"], ["a control character", "a\nb"], ["3000 characters", "j".repeat(3000)], ["257 characters", "j".repeat(257)]] as const) {
    t.test(name, async (t) => expectOAuthError(t, await withJti(jti), 401, "invalid_client"));
  }
  t.equal((await withJti(`${"j".repeat(220)}${randomUUID()}`)).statusCode, 200, "256 characters are fine");
  t.equal((await withJti(`é-${randomUUID()}`)).statusCode, 200, "non-ASCII is fine");
  t.equal(await app.services.db.usedClientAssertion.count({ where: { id: { contains: "\n" } } }), 0, "nothing refused was stored");
});

t.test("a client deleted after it was looked up (another instance, the CLI) during a sign-in", async (t) => {
  await app.services.users.create("alice", "alice-password-1");
  // Deleted in the database only: this instance's registry still holds the client until it reloads,
  // which is the window of a deletion on another instance (CACHE_REFRESH) or during the password check.
  const deletedElsewhere = async () => {
    const client = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API] });
    await app.services.db.client.deleteMany({ where: { id: client.clientId } });
    t.ok(app.services.clients.get(client.clientId), "still in this instance's registry");
    return client;
  };

  t.test("/login: 400 invalid_client, as for an unknown client, with no challenge", async (t) => {
    const { clientId } = await deletedElsewhere();
    const res = await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "alice-password-1", client_id: clientId } });
    expectOAuthError(t, res, 400, "invalid_client");
    t.equal(res.headers["www-authenticate"], undefined);
    t.equal(res.headers["set-cookie"], undefined, "no cookie");
    t.equal(await app.services.db.refreshFamily.count({ where: { clientId } }), 0, "no family");
  });

  t.test("password grant at /token: 401 invalid_client", async (t) => {
    const client = await deletedElsewhere();
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(client.clientId, client.clientSecret) },
      payload: form({ grant_type: "password", username: "alice", password: "alice-password-1" }),
    });
    expectOAuthError(t, res, 401, "invalid_client");
    t.equal(await app.services.db.refreshFamily.count({ where: { clientId: client.clientId } }), 0, "no family");
  });
});
