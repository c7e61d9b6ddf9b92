// POST /token across client changes: secret rotation with and without a grace period, disabling,
// re-enabling, deleting and updating a client. Time moves with the settable clock, never by sleeping.
import t from "tap";
import type { LightMyRequestResponse } from "fastify";
import { decodeJwt } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const { app, createClient, clock } = await buildTestApp(t);
const admin = app.services.clientAdmin;

/** client_credentials with client_secret_basic. */
const withBasic = (clientId: string, secret: string, params: Record<string, string> = {}) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(clientId, secret) },
    payload: form({ grant_type: "client_credentials", ...params }),
  });

/** client_credentials with client_secret_post. */
const withPost = (clientId: string, secret: string) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: FORM,
    payload: form({ grant_type: "client_credentials", client_id: clientId, client_secret: secret }),
  });

/** The status and, on success, the token's sub: enough to tell which client got in. */
const outcome = (res: LightMyRequestResponse) => ({
  status: res.statusCode,
  sub: res.statusCode === 200 ? decodeJwt(res.json().access_token).sub : undefined,
});

t.test("secret rotation", async (t) => {
  t.test("with a grace period the old secret works until it ends, the new one at once", async (t) => {
    const { clientId, clientSecret: oldSecret } = await createClient();
    const { clientSecret: newSecret } = await admin.rotateSecret(clientId, 60);
    t.not(newSecret, oldSecret, "a new secret");

    t.same(outcome(await withBasic(clientId, newSecret)), { status: 200, sub: clientId }, "new secret (Basic)");
    t.same(outcome(await withPost(clientId, newSecret)), { status: 200, sub: clientId }, "new secret (post)");
    t.same(outcome(await withBasic(clientId, oldSecret)), { status: 200, sub: clientId }, "old secret at once (Basic)");
    t.same(outcome(await withPost(clientId, oldSecret)), { status: 200, sub: clientId }, "old secret at once (post)");

    clock.advance(59);
    t.same(outcome(await withBasic(clientId, oldSecret)), { status: 200, sub: clientId }, "old secret 1 s before the end");

    clock.advance(1);
    expectOAuthError(t, await withBasic(clientId, oldSecret), 401, "invalid_client");
    expectOAuthError(t, await withPost(clientId, oldSecret), 401, "invalid_client");
    t.same(outcome(await withBasic(clientId, newSecret)), { status: 200, sub: clientId }, "new secret after the grace period");
  });

  t.test("without a grace period the old secret fails at once and the new one works", async (t) => {
    const { clientId, clientSecret: oldSecret } = await createClient();
    const { clientSecret: newSecret } = await admin.rotateSecret(clientId);
    expectOAuthError(t, await withBasic(clientId, oldSecret), 401, "invalid_client");
    expectOAuthError(t, await withPost(clientId, oldSecret), 401, "invalid_client");
    t.same(outcome(await withBasic(clientId, newSecret)), { status: 200, sub: clientId });
  });

  t.test("an expired previous secret answers exactly like an unknown client", async (t) => {
    const { clientId, clientSecret: oldSecret } = await createClient();
    await admin.rotateSecret(clientId, 10);
    clock.advance(11);
    const expired = await withBasic(clientId, oldSecret);
    const unknown = await withBasic("no-such-client-aaaaaaaaaaaaa", oldSecret);
    expectOAuthError(t, expired, 401, "invalid_client");
    t.equal(expired.body, unknown.body, "same body");
    t.equal(expired.headers["www-authenticate"], unknown.headers["www-authenticate"], "same challenge");
  });

  t.test("a second rotation keeps only the secret it replaces", async (t) => {
    const { clientId, clientSecret: first } = await createClient();
    const { clientSecret: second } = await admin.rotateSecret(clientId, 300);
    const { clientSecret: third } = await admin.rotateSecret(clientId, 300);
    expectOAuthError(t, await withBasic(clientId, first), 401, "invalid_client");
    t.same(outcome(await withBasic(clientId, second)), { status: 200, sub: clientId }, "the replaced secret, within its grace");
    t.same(outcome(await withBasic(clientId, third)), { status: 200, sub: clientId }, "the current secret");
  });

  t.test("a rotation without grace ends an earlier grace period", async (t) => {
    const { clientId, clientSecret: first } = await createClient();
    const { clientSecret: second } = await admin.rotateSecret(clientId, 300);
    const { clientSecret: third } = await admin.rotateSecret(clientId, 0);
    expectOAuthError(t, await withBasic(clientId, first), 401, "invalid_client");
    expectOAuthError(t, await withBasic(clientId, second), 401, "invalid_client");
    t.same(outcome(await withBasic(clientId, third)), { status: 200, sub: clientId });
  });

  t.test("a grace period lets only this client's old secret in, not another client's", async (t) => {
    const a = await createClient();
    const b = await createClient();
    await admin.rotateSecret(a.clientId, 300);
    expectOAuthError(t, await withBasic(b.clientId, a.clientSecret), 401, "invalid_client");
  });
});

t.test("disabling a client makes its next request fail with invalid_client", async (t) => {
  const { clientId, clientSecret } = await createClient();
  t.same(outcome(await withBasic(clientId, clientSecret)), { status: 200, sub: clientId }, "works before");
  await admin.disable(clientId);
  expectOAuthError(t, await withBasic(clientId, clientSecret), 401, "invalid_client");
  expectOAuthError(t, await withPost(clientId, clientSecret), 401, "invalid_client");
});

t.test("a disabled client whose previous secret is in its grace period is refused with either secret", async (t) => {
  const { clientId, clientSecret: oldSecret } = await createClient();
  const { clientSecret: newSecret } = await admin.rotateSecret(clientId, 300);
  await admin.disable(clientId);
  expectOAuthError(t, await withBasic(clientId, oldSecret), 401, "invalid_client");
  expectOAuthError(t, await withBasic(clientId, newSecret), 401, "invalid_client");
});

t.test("re-enabling a client lets it in again", async (t) => {
  const { clientId, clientSecret } = await createClient();
  await admin.disable(clientId);
  expectOAuthError(t, await withBasic(clientId, clientSecret), 401, "invalid_client");
  await admin.update(clientId, { enabled: true });
  t.same(outcome(await withBasic(clientId, clientSecret)), { status: 200, sub: clientId });
});

t.test("a deleted client gets invalid_client", async (t) => {
  const { clientId, clientSecret } = await createClient();
  await admin.delete(clientId);
  expectOAuthError(t, await withBasic(clientId, clientSecret), 401, "invalid_client");
});

t.test("changes to scopes, audiences and lifetime apply to the next token", async (t) => {
  const { clientId, clientSecret } = await createClient({ scopes: ["read", "write"], audiences: ["https://api.example.test"] });
  await admin.update(clientId, { scopes: ["read"], audiences: ["https://new.example.test"], tokenTtlSeconds: 120 });

  const res = await withBasic(clientId, clientSecret);
  t.equal(res.statusCode, 200);
  t.equal(res.json().scope, "read");
  t.equal(res.json().expires_in, 120);
  const claims = decodeJwt(res.json().access_token);
  t.equal(claims.aud, "https://new.example.test");
  t.equal(claims.exp! - claims.iat!, 120);

  expectOAuthError(t, await withBasic(clientId, clientSecret, { scope: "write" }), 400, "invalid_scope");
  expectOAuthError(t, await withBasic(clientId, clientSecret, { resource: "https://api.example.test" }), 400, "invalid_target");
});
