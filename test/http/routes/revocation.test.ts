// POST /revoke (RFC 7009): access tokens go on the jti blocklist until their exp, refresh tokens take
// their family down; the hint is only a hint; unknown, malformed, expired and foreign tokens answer
// 200 and change nothing; a client revokes only its own tokens; a revoked family (by /revoke, /logout
// or reuse detection) takes its still-living access tokens with it (RFC 9700 §4.14.2).
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const INACTIVE = { active: false };

type Creds = { clientId: string; clientSecret: string };
type Pair = { access_token: string; refresh_token: string };

const { app, clock, createClient } = await buildTestApp(t);
const db = app.services.db;

const svc = await createClient();
const peer = await createClient();
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
const web2 = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
const resourceServer = await createClient({ canIntrospect: true, audiences: [API] });
await app.services.users.create("alice", "alice-password-1");

const post = (url: string, creds: Creds, params: Record<string, string | string[]>): Promise<LightMyRequestResponse> =>
  app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

const revoke = (creds: Creds, token: string, params: Record<string, string> = {}) => post("/revoke", creds, { token, ...params });

/** The parsed introspection answer, as the token's owner (or `creds`) sees it. */
async function introspect(creds: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await post("/introspect", creds, { token });
  if (res.statusCode !== 200) throw new Error(`introspection failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function accessToken(creds: Creds = svc): Promise<string> {
  const res = await post("/token", creds, { grant_type: "client_credentials" });
  if (res.statusCode !== 200) throw new Error(`client_credentials failed: ${res.body}`);
  return res.json().access_token;
}

async function signIn(creds: Creds = web): Promise<Pair> {
  const res = await post("/token", creds, { grant_type: "password", username: "alice", password: "alice-password-1" });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  return res.json();
}

const refreshGrant = (creds: Creds, refreshToken: string) => post("/token", creds, { grant_type: "refresh_token", refresh_token: refreshToken });

async function rotate(creds: Creds, refreshToken: string): Promise<Pair> {
  const res = await refreshGrant(creds, refreshToken);
  if (res.statusCode !== 200) throw new Error(`rotation failed: ${res.body}`);
  return res.json();
}

/** RFC 7009 §2.2: 200, empty body; and never cached. */
function assertRevokeAnswer(t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 200, `200 (answer: ${res.body})`);
  t.equal(res.body, "", "empty body");
  t.equal(res.headers["cache-control"], "no-store");
}

function assertInvalidGrant(t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 400, `400 (answer: ${res.body})`);
  t.equal(res.json().error, "invalid_grant");
}

const jtiOf = (token: string) => decodeJwt(token).jti!;
const blocklisted = async () => (await db.revokedAccessToken.findMany({ select: { jti: true } })).map((r) => r.jti).sort();
const revokedFamilies = () => db.refreshFamily.count({ where: { revokedAt: { not: null } } });

t.test("an access token", async (t) => {
  t.test("goes on the blocklist until its exp, and introspection then says exactly {active:false}", async (t) => {
    const token = await accessToken();
    const { jti, exp } = decodeJwt(token);
    t.equal((await introspect(svc, token)).active, true, "active before");

    assertRevokeAnswer(t, await revoke(svc, token));
    const row = await db.revokedAccessToken.findUnique({ where: { jti: jti! } });
    t.ok(row, "jti on the blocklist");
    t.equal(row?.expiresAt.getTime(), exp! * 1000, "kept until the token's exp");
    t.equal(row?.clientId, svc.clientId);
    t.same(await introspect(svc, token), INACTIVE);
    t.same(await introspect(resourceServer, token), INACTIVE, "for the resource server too");

    assertRevokeAnswer(t, await revoke(svc, token));
    t.equal(await db.revokedAccessToken.count({ where: { jti: jti! } }), 1, "revoking twice keeps one entry");
  });

  t.test("revoking one leaves the client's other tokens active", async (t) => {
    const revoked = await accessToken();
    const kept = await accessToken();
    assertRevokeAnswer(t, await revoke(svc, revoked));
    t.same(await introspect(svc, revoked), INACTIVE);
    t.equal((await introspect(svc, kept)).active, true);
  });

  t.test("with client_secret_post", async (t) => {
    const token = await accessToken();
    const res = await app.inject({
      method: "POST",
      url: "/revoke",
      headers: FORM,
      payload: form({ token, client_id: svc.clientId, client_secret: svc.clientSecret }),
    });
    assertRevokeAnswer(t, res);
    t.same(await introspect(svc, token), INACTIVE);
  });

  t.test("issued from a refresh family: only that access token goes, the refresh token still rotates", async (t) => {
    const pair = await signIn();
    assertRevokeAnswer(t, await revoke(web, pair.access_token));
    t.same(await introspect(web, pair.access_token), INACTIVE);
    t.equal((await introspect(web, pair.refresh_token)).active, true);
    const next = await rotate(web, pair.refresh_token);
    t.equal((await introspect(web, next.access_token)).active, true, "the new access token is active");
  });
});

t.test("a refresh token", async (t) => {
  t.test("revokes its family: the newest token then fails at /token", async (t) => {
    const first = await signIn();
    const second = await rotate(web, first.refresh_token);
    const newest = await rotate(web, second.refresh_token);
    t.equal((await introspect(web, newest.refresh_token)).active, true, "active before");

    assertRevokeAnswer(t, await revoke(web, newest.refresh_token));
    t.same(await introspect(web, newest.refresh_token), INACTIVE);
    assertInvalidGrant(t, await refreshGrant(web, newest.refresh_token));
    const family = await db.refreshFamily.findMany({ where: { tokens: { some: { accessTokenJti: jtiOf(newest.access_token) } } } });
    t.equal(family.length, 1);
    t.ok(family[0]?.revokedAt, "the family is marked revoked");
    t.equal(family[0]?.revokedReason, "revocation");
  });

  t.test("revoking one family leaves the user's other sign-ins alone", async (t) => {
    const revoked = await signIn();
    const kept = await signIn();
    assertRevokeAnswer(t, await revoke(web, revoked.refresh_token));
    assertInvalidGrant(t, await refreshGrant(web, revoked.refresh_token));
    t.equal((await introspect(web, kept.refresh_token)).active, true);
    t.equal((await introspect(web, kept.access_token)).active, true);
    await rotate(web, kept.refresh_token);
  });

  t.test("revoking an already revoked family again answers 200 and changes nothing", async (t) => {
    const pair = await signIn();
    assertRevokeAnswer(t, await revoke(web, pair.refresh_token));
    const before = await db.refreshFamily.findMany({ where: { revokedAt: { not: null } }, orderBy: { id: "asc" } });
    const blocklistBefore = await blocklisted();
    assertRevokeAnswer(t, await revoke(web, pair.refresh_token));
    t.same(await db.refreshFamily.findMany({ where: { revokedAt: { not: null } }, orderBy: { id: "asc" } }), before);
    t.same(await blocklisted(), blocklistBefore);
  });
});

t.test("token_type_hint is a hint only (RFC 7009 §2.1)", async (t) => {
  t.test("an access token sent with hint refresh_token is still revoked", async (t) => {
    const token = await accessToken();
    assertRevokeAnswer(t, await revoke(svc, token, { token_type_hint: "refresh_token" }));
    t.same(await introspect(svc, token), INACTIVE);
  });

  t.test("a refresh token sent with hint access_token is still revoked", async (t) => {
    const pair = await signIn();
    assertRevokeAnswer(t, await revoke(web, pair.refresh_token, { token_type_hint: "access_token" }));
    t.same(await introspect(web, pair.refresh_token), INACTIVE);
    assertInvalidGrant(t, await refreshGrant(web, pair.refresh_token));
  });

  t.test("the right hints work too", async (t) => {
    const token = await accessToken();
    const pair = await signIn();
    assertRevokeAnswer(t, await revoke(svc, token, { token_type_hint: "access_token" }));
    assertRevokeAnswer(t, await revoke(web, pair.refresh_token, { token_type_hint: "refresh_token" }));
    t.same(await introspect(svc, token), INACTIVE);
    t.same(await introspect(web, pair.refresh_token), INACTIVE);
  });

  t.test("a hint the server does not know is ignored", async (t) => {
    const token = await accessToken();
    assertRevokeAnswer(t, await revoke(svc, token, { token_type_hint: "id_token" }));
    t.same(await introspect(svc, token), INACTIVE);
  });
});

t.test("unknown, malformed, expired or foreign tokens answer 200 and change nothing", async (t) => {
  const { app: stranger, createClient: createStrangerClient } = await buildTestApp(t);
  const strangerCreds = await createStrangerClient();
  const strangerToken = (
    await stranger.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(strangerCreds.clientId, strangerCreds.clientSecret) },
      payload: form({ grant_type: "client_credentials" }),
    })
  ).json().access_token as string;

  const live = await accessToken();
  const livePair = await signIn();
  const signature = live.split(".")[2]!;
  const middle = Math.floor(signature.length / 2);
  const tampered = `${live.split(".").slice(0, 2).join(".")}.${signature.slice(0, middle)}${signature[middle] === "A" ? "B" : "A"}${signature.slice(middle + 1)}`;

  const cases: [string, string][] = [
    ["a word", "abc"],
    ["three dots", "a.b.c"],
    ["an unknown refresh-token-shaped string", "A".repeat(43)],
    ["a refresh token with one character changed", `${livePair.refresh_token.slice(0, -1)}${livePair.refresh_token.endsWith("A") ? "B" : "A"}`],
    ["an access token with a broken signature", tampered],
    ["an access token of another server (unknown kid)", strangerToken],
    ["non-ASCII", "tøkén"],
  ];
  const blocklistBefore = await blocklisted();
  const revokedBefore = await revokedFamilies();
  for (const [name, token] of cases) {
    t.test(name, async (t) => {
      assertRevokeAnswer(t, await revoke(svc, token));
      assertRevokeAnswer(t, await revoke(web, token, { token_type_hint: "refresh_token" }));
    });
  }

  t.test("an expired access token", async (t) => {
    const token = await accessToken();
    clock.advance(901);
    assertRevokeAnswer(t, await revoke(svc, token));
    t.equal(await db.revokedAccessToken.count({ where: { jti: jtiOf(token) } }), 0, "no blocklist entry for a dead token");
  });

  t.test("nothing was blocklisted or revoked, and the live tokens still work", async (t) => {
    t.same(await blocklisted(), blocklistBefore);
    t.equal(await revokedFamilies(), revokedBefore);
    t.equal((await introspect(web, livePair.refresh_token)).active, true);
    await rotate(web, livePair.refresh_token);
  });
});

t.test("a client can only revoke its own tokens", async (t) => {
  t.test("another client revoking an access token: 200, and the token stays active", async (t) => {
    const token = await accessToken(svc);
    assertRevokeAnswer(t, await revoke(peer, token));
    assertRevokeAnswer(t, await revoke(peer, token, { token_type_hint: "access_token" }));
    t.equal((await introspect(svc, token)).active, true);
    t.equal(await db.revokedAccessToken.count({ where: { jti: jtiOf(token) } }), 0);
  });

  t.test("a resource server allowed to introspect the token still cannot revoke it", async (t) => {
    const token = await accessToken(svc);
    t.equal((await introspect(resourceServer, token)).active, true, "it may see it");
    assertRevokeAnswer(t, await revoke(resourceServer, token));
    t.equal((await introspect(svc, token)).active, true);
  });

  t.test("another client revoking a refresh token: 200, and the family lives on", async (t) => {
    const pair = await signIn(web);
    assertRevokeAnswer(t, await revoke(web2, pair.refresh_token));
    assertRevokeAnswer(t, await revoke(svc, pair.refresh_token, { token_type_hint: "refresh_token" }));
    t.equal((await introspect(web, pair.refresh_token)).active, true);
    t.equal((await introspect(web, pair.access_token)).active, true);
    const next = await rotate(web, pair.refresh_token);
    t.ok(next.refresh_token, "the owner still rotates it");
  });

  t.test("another client revoking a user's access token from a family: 200, and it stays active", async (t) => {
    const pair = await signIn(web);
    assertRevokeAnswer(t, await revoke(web2, pair.access_token));
    t.equal((await introspect(web, pair.access_token)).active, true);
  });
});

t.test("a revoked family takes its still-living access tokens with it", async (t) => {
  /**
   * A family whose first access token has expired and whose two later ones still live, plus another
   * sign-in of the same user that must not be touched.
   */
  async function family() {
    const first = await signIn();
    clock.advance(901);
    const second = await rotate(web, first.refresh_token);
    const third = await rotate(web, second.refresh_token);
    const bystander = await signIn();
    return { first, second, third, bystander };
  }

  async function assertFamilyBlocklisted(t: Test, f: Awaited<ReturnType<typeof family>>) {
    for (const [name, pair] of [["second", f.second], ["third", f.third]] as const) {
      t.same(await introspect(web, pair.access_token), INACTIVE, `${name} access token inactive`);
      const row = await db.revokedAccessToken.findUnique({ where: { jti: jtiOf(pair.access_token) } });
      t.equal(row?.expiresAt.getTime(), decodeJwt(pair.access_token).exp! * 1000, `${name} blocklisted until its exp`);
    }
    t.equal(await db.revokedAccessToken.count({ where: { jti: jtiOf(f.first.access_token) } }), 0, "the expired one needs no entry");
    t.same(await introspect(web, f.third.refresh_token), INACTIVE, "newest refresh token inactive");
    assertInvalidGrant(t, await refreshGrant(web, f.third.refresh_token));
    t.equal((await introspect(web, f.bystander.access_token)).active, true, "another sign-in's access token stays active");
    t.equal((await introspect(web, f.bystander.refresh_token)).active, true, "another sign-in's refresh token stays active");
  }

  t.test("by /revoke", async (t) => {
    const f = await family();
    assertRevokeAnswer(t, await revoke(web, f.third.refresh_token));
    await assertFamilyBlocklisted(t, f);
  });

  t.test("by /logout", async (t) => {
    const f = await family();
    const res = await app.inject({ method: "POST", url: "/logout", payload: { refresh_token: f.third.refresh_token } });
    t.equal(res.statusCode, 200);
    await assertFamilyBlocklisted(t, f);
  });

  t.test("by reuse detection (an already rotated token presented at /token)", async (t) => {
    const f = await family();
    // 2 s on: a replay, not a request concurrent with the rotation (CONCURRENT_USE_WINDOW_MS)
    clock.advance(2);
    assertInvalidGrant(t, await refreshGrant(web, f.first.refresh_token));
    await assertFamilyBlocklisted(t, f);
  });

  t.test("by revoking an access token first and the family after: the entry is kept once", async (t) => {
    const f = await family();
    assertRevokeAnswer(t, await revoke(web, f.third.access_token));
    assertRevokeAnswer(t, await revoke(web, f.third.refresh_token));
    t.equal(await db.revokedAccessToken.count({ where: { jti: jtiOf(f.third.access_token) } }), 1);
    await assertFamilyBlocklisted(t, f);
  });
});

t.test("errors", async (t) => {
  t.test("a wrong client secret: 401 invalid_client with a Basic challenge, and nothing revoked", async (t) => {
    const token = await accessToken();
    const res = await revoke({ clientId: svc.clientId, clientSecret: `${svc.clientSecret}x` }, token);
    expectOAuthError(t, res, 401, "invalid_client");
    t.equal((await introspect(svc, token)).active, true);
  });

  t.test("an unknown client: 401 invalid_client", async (t) => {
    expectOAuthError(t, await revoke({ clientId: "nobody", clientSecret: "nothing" }, "abc"), 401, "invalid_client");
  });

  t.test("a wrong secret by client_secret_post: invalid_client, and nothing revoked", async (t) => {
    const token = await accessToken();
    const res = await app.inject({
      method: "POST",
      url: "/revoke",
      headers: FORM,
      payload: form({ token, client_id: svc.clientId, client_secret: "wrong" }),
    });
    expectOAuthError(t, res, 401, "invalid_client");
    t.equal((await introspect(svc, token)).active, true);
  });

  t.test("no client authentication: 401 invalid_client", async (t) => {
    const token = await accessToken();
    const res = await app.inject({ method: "POST", url: "/revoke", headers: FORM, payload: form({ token }) });
    expectOAuthError(t, res, 401, "invalid_client");
    t.equal((await introspect(svc, token)).active, true);
  });

  t.test("a disabled client: 401 invalid_client, and its token is not revoked", async (t) => {
    const doomed = await createClient();
    const token = await accessToken(doomed);
    await app.services.clientAdmin.update(doomed.clientId, { enabled: false });
    expectOAuthError(t, await revoke(doomed, token), 401, "invalid_client");
    t.equal(await db.revokedAccessToken.count({ where: { jti: jtiOf(token) } }), 0);
  });

  t.test("missing token: 400 invalid_request", async (t) => {
    expectOAuthError(t, await post("/revoke", svc, { token_type_hint: "access_token" }), 400, "invalid_request");
  });

  t.test("an empty token counts as missing (RFC 6749 §3.1): 400 invalid_request", async (t) => {
    expectOAuthError(t, await post("/revoke", svc, { token: "" }), 400, "invalid_request");
  });

  t.test("a repeated token: 400 invalid_request, and neither is revoked", async (t) => {
    const a = await accessToken();
    const b = await accessToken();
    expectOAuthError(t, await post("/revoke", svc, { token: [a, b] }), 400, "invalid_request");
    t.equal((await introspect(svc, a)).active, true);
    t.equal((await introspect(svc, b)).active, true);
  });

  t.test("a JSON body: 400 invalid_request, and nothing revoked", async (t) => {
    const token = await accessToken();
    const res = await app.inject({
      method: "POST",
      url: "/revoke",
      headers: { authorization: basic(svc.clientId, svc.clientSecret) },
      payload: { token },
    });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal((await introspect(svc, token)).active, true);
  });

  t.test("a token longer than 16384 characters: 400 invalid_request", async (t) => {
    expectOAuthError(t, await revoke(svc, "a".repeat(20_000)), 400, "invalid_request");
  });
});

t.test("metadata names the revocation endpoint, which is this one (RFC 8414 §2)", async (t) => {
  const res = await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" });
  const metadata = res.json();
  t.equal(metadata.revocation_endpoint, "https://tessera.test/revoke");
  t.same(metadata.revocation_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"], "none: a public client revokes its own tokens (RFC 7009 §2.1)");
  const token = await accessToken();
  assertRevokeAnswer(t, await post(new URL(metadata.revocation_endpoint).pathname, svc, { token }));
  t.same(await introspect(svc, token), INACTIVE);
});
