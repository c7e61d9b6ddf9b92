// POST /token, grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636, OAuth 2.1): PKCE S256,
// redirect_uri, the bound client, expiry, single use (a replay revokes what the code issued, also
// when two exchanges race), public clients (auth method none), and refresh rotation of code families.
// Codes are made by the real domain function /authorize uses (test/helpers/code-flow.ts).
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { sha256 } from "../../../src/crypto/secrets.js";
import { CONCURRENT_USE_WINDOW_MS } from "../../../src/domain/tokens/refresh-token-service.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { issueCode, newVerifier } from "../../helpers/code-flow.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const CALLBACK = "https://app.example.test/callback";
const NATIVE = "http://127.0.0.1/callback";
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

type Creds = { clientId: string; clientSecret: string };

const { app, clock, createClient } = await buildTestApp(t);
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });
const confidential = await createClient({ grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API] });
const codeOnly = await createClient({ grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
const spa = await createClient({ public: true, grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK, NATIVE], audiences: [API] });
const alice = await app.services.users.create("alice", "alice-password-1");

/** A code for alice at `creds`' client, for scope read, audience API, redirect CALLBACK. */
const codeFor = (creds: Creds, binding: Parameters<typeof issueCode>[3] = { redirectUri: CALLBACK, audience: [API], scope: ["read"] }) =>
  issueCode(app, alice.id, creds.clientId, binding);

/** POST /token as `creds`: HTTP Basic for a confidential client, client_id in the body for a public one. */
const token = (creds: Creds, params: Record<string, string>) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, ...(creds.clientSecret && { authorization: basic(creds.clientId, creds.clientSecret) }) },
    payload: form({ ...params, ...(!creds.clientSecret && { client_id: creds.clientId }) }),
  });

const exchange = (creds: Creds, issued: { code: string; verifier: string }, params: Record<string, string> = {}) =>
  token(creds, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK, ...params });

const introspect = async (tokenValue: string) =>
  (await app.inject({ method: "POST", url: "/introspect", headers: { ...FORM, authorization: basic(apiServer.clientId, apiServer.clientSecret) }, payload: form({ token: tokenValue }) })).json();

/** The answer of a successful exchange: exact members, no-store, and the access token's claims. */
function expectTokens(t: Test, res: LightMyRequestResponse, creds: Creds, withRefresh: boolean, userId = alice.id) {
  t.equal(res.statusCode, 200, `exchanged (answer: ${res.body})`);
  t.equal(res.headers["cache-control"], "no-store");
  t.equal(res.headers.pragma, "no-cache");
  const body = res.json();
  t.strictSame(Object.keys(body).sort(), ["access_token", "expires_in", "scope", "token_type", ...(withRefresh ? ["refresh_token"] : [])].sort());
  t.equal(body.token_type, "Bearer");
  t.equal(body.expires_in, 900);
  t.equal(body.scope, "read");
  if (withRefresh) t.match(body.refresh_token, REFRESH_TOKEN);
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, userId, "sub is the user");
  t.equal(claims.client_id, creds.clientId);
  t.equal(claims.aud, API);
  t.equal(claims.scope, "read");
  return body as { access_token: string; refresh_token?: string };
}

t.test("a confidential client exchanges a code for an access token and a refresh token of a family under the grant", async (t) => {
  const issued = await codeFor(confidential);
  const stored = await app.services.db.authorizationCode.findMany({ where: { grantId: issued.grantId } });
  t.equal(stored.length, 1);
  t.equal(stored[0]!.digest, sha256(issued.code), "only the code's SHA-256 digest is stored");
  t.notOk(JSON.stringify(stored).includes(issued.code), "the code itself is nowhere in the row");
  t.equal(stored[0]!.expiresAt.getTime() - stored[0]!.issuedAt.getTime(), 60_000, "it lives 60 s");

  const body = expectTokens(t, await exchange(confidential, issued), confidential, true);
  const used = await app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(issued.code) } });
  t.equal(used.usedAt?.getTime(), clock.now(), "consumed");
  t.equal(used.accessTokenJti, decodeJwt(body.access_token).jti, "the code records the access token it issued");
  const family = await app.services.db.refreshFamily.findUniqueOrThrow({ where: { id: used.familyId! } });
  t.strictSame(
    { clientId: family.clientId, userId: family.userId, grantId: family.grantId, sessionId: family.sessionId, viaLogin: family.viaLogin },
    { clientId: confidential.clientId, userId: alice.id, grantId: issued.grantId, sessionId: issued.sessionId, viaLogin: false },
  );
  t.equal((await introspect(body.access_token)).active, true);
});

t.test("a client without refresh_token gets an access token alone", async (t) => {
  const issued = await codeFor(codeOnly);
  const body = expectTokens(t, await exchange(codeOnly, issued), codeOnly, false);
  const used = await app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(issued.code) } });
  t.equal(used.familyId, null);
  t.equal(used.accessTokenJti, decodeJwt(body.access_token).jti);
});

t.test("a public client authenticates with client_id alone (auth method none)", async (t) => {
  const issued = await codeFor(spa);
  const res = await exchange(spa, issued);
  expectTokens(t, res, spa, true);
});

t.test("a public client presenting a secret, Basic or not, is refused: it has none", async (t) => {
  const issued = await codeFor(spa);
  const res = await token({ clientId: spa.clientId, clientSecret: "guessed" }, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK });
  expectOAuthError(t, res, 401, "invalid_client");
  expectTokens(t, await exchange(spa, issued), spa, true);
});

t.test("a confidential client naming only its client_id is refused: it must authenticate", async (t) => {
  const issued = await codeFor(confidential);
  const res = await token({ clientId: confidential.clientId, clientSecret: "" }, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK });
  expectOAuthError(t, res, 401, "invalid_client");
  t.equal(res.json().error_description, "client authentication required");
  expectTokens(t, await exchange(confidential, issued), confidential, true);
});

t.test("an unknown client_id alone is invalid_client", async (t) => {
  const res = await token({ clientId: "no-such-client", clientSecret: "" }, { grant_type: "authorization_code", code: "x".repeat(43), code_verifier: newVerifier() });
  expectOAuthError(t, res, 401, "invalid_client");
});

t.test("a public client may not use client_credentials or password", async (t) => {
  for (const grant_type of ["client_credentials", "password"]) {
    const res = await token(spa, { grant_type, username: "alice", password: "alice-password-1" });
    expectOAuthError(t, res, 400, "unauthorized_client");
    t.equal(res.json().error_description, `this client may not use grant_type ${grant_type}`);
  }
});

t.test("a disabled public client is refused", async (t) => {
  const other = await createClient({ public: true, grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
  const issued = await codeFor(other);
  await app.services.clientAdmin.disable(other.clientId);
  expectOAuthError(t, await exchange(other, issued), 401, "invalid_client");
});

t.test("PKCE: code_verifier is required, and must hash to the code_challenge (S256)", async (t) => {
  const issued = await codeFor(confidential);
  const missing = await token(confidential, { grant_type: "authorization_code", code: issued.code, redirect_uri: CALLBACK });
  expectOAuthError(t, missing, 400, "invalid_request");
  t.equal(missing.json().error_description, "code_verifier is required (PKCE)");

  const wrong = await exchange(confidential, { code: issued.code, verifier: newVerifier() });
  expectOAuthError(t, wrong, 400, "invalid_grant");
  t.equal(wrong.json().error_description, "code_verifier does not match the code_challenge (PKCE)");

  // RFC 7636 §4.1: 43 to 128 unreserved characters. The challenge of a shorter one would match, were
  // the syntax not checked: this code's challenge is the S256 of "short".
  const short = await codeFor(confidential, { redirectUri: CALLBACK, audience: [API], scope: ["read"], codeChallenge: sha256("short") });
  expectOAuthError(t, await exchange(confidential, { code: short.code, verifier: "short" }), 400, "invalid_grant");

  // The plain method: the verifier equal to the challenge is refused.
  const stored = await app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(issued.code) } });
  expectOAuthError(t, await exchange(confidential, { code: issued.code, verifier: stored.codeChallenge }), 400, "invalid_grant");

  // None of these consumed the code: the right verifier still gets its tokens.
  expectTokens(t, await exchange(confidential, issued), confidential, true);
});

t.test("code is required; an unknown or malformed one is invalid_grant", async (t) => {
  const missing = await token(confidential, { grant_type: "authorization_code", code_verifier: newVerifier() });
  expectOAuthError(t, missing, 400, "invalid_request");
  t.equal(missing.json().error_description, "code is required");
  for (const code of ["A".repeat(43), "not a code", "A".repeat(44)]) {
    const res = await exchange(confidential, { code, verifier: newVerifier() });
    expectOAuthError(t, res, 400, "invalid_grant");
    t.equal(res.json().error_description, "authorization code is invalid, expired or used");
  }
});

t.test("redirect_uri: required and identical when the authorization request sent one", async (t) => {
  const issued = await codeFor(confidential);
  const omitted = await token(confidential, { grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier });
  expectOAuthError(t, omitted, 400, "invalid_grant");
  t.equal(omitted.json().error_description, "redirect_uri does not match the authorization request");
  for (const redirect_uri of [`${CALLBACK}/`, "https://app.example.test/other", CALLBACK.toUpperCase()]) {
    expectOAuthError(t, await exchange(confidential, issued, { redirect_uri }), 400, "invalid_grant");
  }
  expectTokens(t, await exchange(confidential, issued), confidential, true);
});

t.test("redirect_uri: may be omitted when the authorization request did not send it, but never differ", async (t) => {
  const binding = { redirectUri: CALLBACK, redirectUriSent: false, audience: [API], scope: ["read"] };
  const first = await codeFor(confidential, binding);
  expectOAuthError(t, await exchange(confidential, first, { redirect_uri: "https://app.example.test/other" }), 400, "invalid_grant");
  const omitted = await token(confidential, { grant_type: "authorization_code", code: first.code, code_verifier: first.verifier });
  expectTokens(t, omitted, confidential, true);
  const second = await codeFor(confidential, binding);
  expectTokens(t, await exchange(confidential, second), confidential, true);
});

t.test("a loopback redirect URI with a port must come back with that same port", async (t) => {
  const issued = await codeFor(spa, { redirectUri: "http://127.0.0.1:49152/callback", audience: [API], scope: ["read"] });
  expectOAuthError(t, await exchange(spa, issued, { redirect_uri: "http://127.0.0.1:49153/callback" }), 400, "invalid_grant");
  expectTokens(t, await exchange(spa, issued, { redirect_uri: "http://127.0.0.1:49152/callback" }), spa, true);
});

t.test("a code is bound to its client: another client gets invalid_grant and the code stays usable", async (t) => {
  const issued = await codeFor(confidential);
  const thief = await createClient({ grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
  const res = await exchange(thief, issued);
  expectOAuthError(t, res, 400, "invalid_grant");
  t.equal(res.json().error_description, "authorization code is invalid, expired or used");
  expectOAuthError(t, await exchange(spa, issued), 400, "invalid_grant");
  expectTokens(t, await exchange(confidential, issued), confidential, true);
});

t.test("a client no longer allowed authorization_code is unauthorized_client", async (t) => {
  const changing = await createClient({ grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
  const issued = await codeFor(changing);
  await app.services.clientAdmin.update(changing.clientId, { grantTypes: ["client_credentials"] });
  expectOAuthError(t, await exchange(changing, issued), 400, "unauthorized_client");
});

t.test("a code expires 60 s after it was issued", async (t) => {
  const last = await codeFor(confidential);
  const expired = await codeFor(confidential);
  clock.advance(59);
  expectTokens(t, await exchange(confidential, last), confidential, true);
  clock.advance(1);
  const res = await exchange(confidential, expired);
  expectOAuthError(t, res, 400, "invalid_grant");
  t.equal(res.json().error_description, "authorization code is invalid, expired or used");
});

t.test("a disabled user's code is refused", async (t) => {
  const bob = await app.services.users.create("bob", "bob-password-1");
  const issued = await issueCode(app, bob.id, confidential.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["read"] });
  await app.services.users.setEnabled("bob", false);
  const res = await exchange(confidential, issued);
  expectOAuthError(t, res, 400, "invalid_grant");
  t.equal(res.json().error_description, "the user of this authorization code is disabled");
});

t.test("a code gone between its read and its exchange (its user deleted meanwhile): invalid_grant, nothing issued", async (t) => {
  const carol = await app.services.users.create("carol", "carol-password-1");
  const issued = await issueCode(app, carol.id, confidential.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["read"] });
  // The deletion lands after /token read the code and before it consumes it, as another instance's
  // (or the CLI's) would; deleting the user deletes the code with it.
  const codes = app.services.authorizationCodes;
  const exchangeCode = codes.exchange;
  codes.exchange = async (...args) => {
    codes.exchange = exchangeCode;
    await app.services.users.delete(carol.id);
    return exchangeCode.apply(codes, args);
  };
  const res = await exchange(confidential, issued);
  expectOAuthError(t, res, 400, "invalid_grant");
  t.equal(res.json().error_description, "authorization code is invalid, expired or used");
  t.equal(codes.exchange, exchangeCode, "the exchange ran once");
  t.equal(await app.services.db.authorizationCode.count({ where: { userId: carol.id } }), 0, "the code went with its user");
});

t.test("a code another exchange used between this one's read and its write: a replay, and what the other got is revoked", async (t) => {
  const issued = await codeFor(confidential);
  // The race of the test below, lined up: the other request runs from start to end just before this
  // one consumes the code, so this one finds the code unused when it reads it and used when it writes.
  const codes = app.services.authorizationCodes;
  const exchangeCode = codes.exchange;
  let other: LightMyRequestResponse | undefined;
  codes.exchange = async (...args) => {
    codes.exchange = exchangeCode;
    other = await exchange(confidential, issued);
    return exchangeCode.apply(codes, args);
  };
  const res = await exchange(confidential, issued);
  expectOAuthError(t, res, 400, "invalid_grant");
  t.equal(res.json().error_description, "authorization code is invalid, expired or used");
  const won = expectTokens(t, other!, confidential, true);
  t.strictSame(await introspect(won.access_token), { active: false }, "the other exchange's access token is revoked");
  expectOAuthError(t, await token(confidential, { grant_type: "refresh_token", refresh_token: won.refresh_token! }), 400, "invalid_grant");
  const used = await app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(issued.code) } });
  t.equal((await app.services.db.refreshFamily.findUniqueOrThrow({ where: { id: used.familyId! } })).revokedReason, "code_replay");
});

t.test("a replayed code is invalid_grant and revokes the refresh family and access tokens it issued", async (t) => {
  const issued = await codeFor(confidential);
  const first = expectTokens(t, await exchange(confidential, issued), confidential, true);
  // The family rotated once since: its newest tokens die too.
  clock.advance(1);
  const rotated = await token(confidential, { grant_type: "refresh_token", refresh_token: first.refresh_token! });
  t.equal(rotated.statusCode, 200);

  const replay = await exchange(confidential, issued);
  expectOAuthError(t, replay, 400, "invalid_grant");
  t.equal(replay.json().error_description, "authorization code is invalid, expired or used");

  t.strictSame(await introspect(first.access_token), { active: false }, "the first access token is revoked");
  t.strictSame(await introspect(rotated.json().access_token), { active: false }, "so is the rotated one");
  expectOAuthError(t, await token(confidential, { grant_type: "refresh_token", refresh_token: rotated.json().refresh_token }), 400, "invalid_grant");
  const used = await app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(issued.code) } });
  const family = await app.services.db.refreshFamily.findUniqueOrThrow({ where: { id: used.familyId! } });
  t.equal(family.revokedReason, "code_replay");
  const events = await app.services.db.auditEvent.findMany({ where: { action: "authorization_code.replay" } });
  t.match(events.at(-1), { actor: `client:${confidential.clientId}`, target: `user:${alice.id}` });
  t.strictSame(JSON.parse(events.at(-1)!.details), { grantId: issued.grantId, familyId: used.familyId, familyRevoked: true });
});

t.test("a replayed code of a client without refresh tokens blocklists the access token it issued", async (t) => {
  const issued = await codeFor(codeOnly);
  const first = expectTokens(t, await exchange(codeOnly, issued), codeOnly, false);
  expectOAuthError(t, await exchange(codeOnly, issued), 400, "invalid_grant");
  t.strictSame(await introspect(first.access_token), { active: false });
  const jti = decodeJwt(first.access_token).jti!;
  t.ok(await app.services.db.revokedAccessToken.findUnique({ where: { jti } }), "on the blocklist");
});

t.test("two concurrent exchanges of one code: exactly one gets tokens, and the replay revokes them", async (t) => {
  for (const creds of [confidential, spa]) {
    const issued = await codeFor(creds);
    const familiesBefore = await app.services.db.refreshFamily.count({ where: { grantId: issued.grantId } });
    const answers = await Promise.all([exchange(creds, issued), exchange(creds, issued), exchange(creds, issued)]);
    const won = answers.filter((r) => r.statusCode === 200);
    t.equal(won.length, 1, "exactly one exchange wins");
    for (const lost of answers.filter((r) => r.statusCode !== 200)) expectOAuthError(t, lost, 400, "invalid_grant");
    const winner = won[0]!.json();
    t.strictSame(await introspect(winner.access_token), { active: false }, "the code was used twice: its access token is revoked");
    expectOAuthError(t, await token(creds, { grant_type: "refresh_token", refresh_token: winner.refresh_token }), 400, "invalid_grant");
    const code = await app.services.db.authorizationCode.findUniqueOrThrow({ where: { digest: sha256(issued.code) } });
    const family = await app.services.db.refreshFamily.findUniqueOrThrow({ where: { id: code.familyId! } });
    t.equal(family.revokedReason, "code_replay", "the one family the code started is revoked");
    t.equal(await app.services.db.refreshFamily.count({ where: { grantId: issued.grantId } }), familiesBefore + 1, "and no other was started");
  }
});

t.test("a public client's code-flow refresh tokens rotate with client_id alone, with reuse detection", async (t) => {
  const issued = await codeFor(spa);
  const first = expectTokens(t, await exchange(spa, issued), spa, true);
  clock.advance(1);
  const second = await token(spa, { grant_type: "refresh_token", refresh_token: first.refresh_token! });
  t.equal(second.statusCode, 200);
  t.match(second.json().refresh_token, REFRESH_TOKEN);
  t.equal(decodeJwt(second.json().access_token).sub, alice.id);

  // Another client cannot use it.
  expectOAuthError(t, await token(confidential, { grant_type: "refresh_token", refresh_token: second.json().refresh_token }), 400, "invalid_grant");

  // The rotated token presented again, after the concurrency window: reuse, the family dies.
  clock.advance(CONCURRENT_USE_WINDOW_MS / 1000);
  expectOAuthError(t, await token(spa, { grant_type: "refresh_token", refresh_token: first.refresh_token! }), 400, "invalid_grant");
  expectOAuthError(t, await token(spa, { grant_type: "refresh_token", refresh_token: second.json().refresh_token }), 400, "invalid_grant");
  t.strictSame(await introspect(second.json().access_token), { active: false });
});

t.test("a public client revokes its own refresh token at /revoke with client_id alone (RFC 7009 §2.1)", async (t) => {
  const issued = await codeFor(spa);
  const tokens = expectTokens(t, await exchange(spa, issued), spa, true);
  const res = await app.inject({ method: "POST", url: "/revoke", headers: FORM, payload: form({ token: tokens.refresh_token!, client_id: spa.clientId }) });
  t.equal(res.statusCode, 200);
  t.equal(res.body, "");
  expectOAuthError(t, await token(spa, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! }), 400, "invalid_grant");
  t.strictSame(await introspect(tokens.access_token), { active: false }, "the family's access token went with it");
});

t.test("a public client cannot introspect", async (t) => {
  const issued = await codeFor(spa);
  const tokens = expectTokens(t, await exchange(spa, issued), spa, true);
  const res = await app.inject({ method: "POST", url: "/introspect", headers: FORM, payload: form({ token: tokens.access_token, client_id: spa.clientId }) });
  expectOAuthError(t, res, 401, "invalid_client");
  t.equal(res.json().error_description, "public clients cannot use this endpoint");
});

t.test("revoking the grant ends its families and access tokens, and its unused codes stop working", async (t) => {
  const carol = await app.services.users.create("carol", "carol-password-1");
  const binding = { redirectUri: CALLBACK, audience: [API], scope: ["read"] };
  const used = await issueCode(app, carol.id, confidential.clientId, binding);
  const unused = await issueCode(app, carol.id, confidential.clientId, { ...binding, grantId: used.grantId });
  const withRefresh = expectTokens(t, await exchange(confidential, used), confidential, true, carol.id);
  const accessOnlyCode = await issueCode(app, carol.id, codeOnly.clientId, binding);
  const accessOnly = expectTokens(t, await exchange(codeOnly, accessOnlyCode), codeOnly, false, carol.id);

  const revoked = await app.services.grants.revokeFor(carol.id, confidential.clientId, "test");
  t.strictSame(revoked, { grantId: used.grantId, families: 1, accessTokensRevoked: 1 });
  t.strictSame(await introspect(withRefresh.access_token), { active: false });
  expectOAuthError(t, await token(confidential, { grant_type: "refresh_token", refresh_token: withRefresh.refresh_token! }), 400, "invalid_grant");
  expectOAuthError(t, await exchange(confidential, unused), 400, "invalid_grant");
  t.equal((await introspect(accessOnly.access_token)).active, true, "the grant to another client is untouched");
  t.equal(await app.services.grants.findGrant(carol.id, confidential.clientId), null, "no remembered consent");

  const accessOnlyRevoked = await app.services.grants.revokeFor(carol.id, codeOnly.clientId, "test");
  t.strictSame(accessOnlyRevoked, { grantId: accessOnlyCode.grantId, families: 0, accessTokensRevoked: 1 }, "a code's access token without a family");
  t.strictSame(await introspect(accessOnly.access_token), { active: false });
});

t.test("a public client whose stored grant types were edited to include client_credentials is still refused it", async (t) => {
  // Registration refuses it (client-service.ts); /token checks again, in case the row was edited by hand.
  const edited = await createClient({ public: true, grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
  await app.services.db.client.update({ where: { id: edited.clientId }, data: { grantTypes: "authorization_code client_credentials" } });
  await app.services.db.cacheVersion.update({ where: { name: "clients" }, data: { version: { increment: 1 } } });
  await app.services.clients.refresh();
  t.strictSame(app.services.clients.get(edited.clientId)?.grantTypes, ["authorization_code", "client_credentials"]);
  const res = await token(edited, { grant_type: "client_credentials" });
  expectOAuthError(t, res, 400, "unauthorized_client");
});

t.test("a code for several audiences gives an access token for all of them, and its refresh token keeps them", async (t) => {
  const wide = await createClient({ grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API, "https://other.example.test"] });
  const issued = await codeFor(wide, { redirectUri: CALLBACK, audience: [API, "https://other.example.test"], scope: [] });
  const res = await exchange(wide, issued);
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(Object.keys(res.json()).sort(), ["access_token", "expires_in", "refresh_token", "token_type"], "no scope member for an empty scope");
  t.strictSame(decodeJwt(res.json().access_token).aud, [API, "https://other.example.test"]);
  clock.advance(1);
  const narrowed = await token(wide, { grant_type: "refresh_token", refresh_token: res.json().refresh_token, resource: "https://other.example.test" });
  t.equal(narrowed.statusCode, 200, narrowed.body);
  t.equal(decodeJwt(narrowed.json().access_token).aud, "https://other.example.test", "RFC 8707 §2.2: narrowed to one audience of the grant");
});
