// POST /token, grant_type=refresh_token (RFC 6749 §6): client-authenticated rotation, reuse detection,
// concurrent use, scope narrowing, and a token bound to the client it was issued to.
import type { AddressInfo } from "node:net";
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError } from "../../helpers/oauth.js";
import { CONCURRENT_USE_WINDOW_MS } from "../../../src/domain/tokens/refresh-token-service.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const { app, clock, createClient } = await buildTestApp(t);
/** Seconds after a rotation from which the rotated token, presented again, is reuse (not a concurrent request). */
const REPLAY_AFTER = CONCURRENT_USE_WINDOW_MS / 1000;

type Creds = { clientId: string; clientSecret: string };
const firstParty = (input: Parameters<typeof createClient>[0] = {}) =>
  createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], ...input });

const web = await firstParty();
const alice = await app.services.users.create("alice", "alice-password-1");

/** A refresh token for alice from the password grant of `creds`. */
async function signIn(creds: Creds = web, params: Record<string, string> = {}): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "password", username: "alice", password: "alice-password-1", ...params }),
  });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  return res.json().refresh_token;
}

const refreshGrant = (creds: Creds, refreshToken: string, params: Record<string, string> = {}) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    payload: form({ grant_type: "refresh_token", refresh_token: refreshToken, ...params }),
  });

function assertRotated(t: Test, res: LightMyRequestResponse, old: string, creds: Creds = web): string {
  if (!t.equal(res.statusCode, 200, `rotated (answer: ${res.body})`)) return "";
  t.equal(res.headers["cache-control"], "no-store");
  const body = res.json();
  t.equal(body.token_type, "Bearer");
  t.match(body.refresh_token, REFRESH_TOKEN);
  t.not(body.refresh_token, old);
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, alice.id);
  t.equal(claims.client_id, creds.clientId);
  return body.refresh_token;
}

t.test("rotation: a new pair comes back and the old token dies", async (t) => {
  const old = await signIn();
  const res = await refreshGrant(web, old);
  assertRotated(t, res, old);
  t.equal(res.json().scope, "read write");
  t.equal(res.json().expires_in, 900);
  t.notOk(res.headers["set-cookie"], "/token sets no cookie");
  expectOAuthError(t, await refreshGrant(web, old), 400, "invalid_grant");
});

t.test("a token from /login rotates at /token for the same client", async (t) => {
  const login = await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "alice-password-1", client_id: web.clientId } });
  const token = login.json().refresh_token;
  assertRotated(t, await refreshGrant(web, token), token);
});

t.test("a confidential client's token does not rotate at /refresh, which has no client authentication (RFC 6749 §6)", async (t) => {
  const first = await signIn();
  const second = assertRotated(t, await refreshGrant(web, first), first);
  const atRefresh = await app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: second } });
  expectOAuthError(t, atRefresh, 400, "invalid_grant");
  // refused without being consumed: the client still rotates it with its credentials
  assertRotated(t, await refreshGrant(web, second), second);
});

t.test("reuse of a rotated token revokes the family, even the newest token, and is audited", async (t) => {
  const first = await signIn();
  const second = assertRotated(t, await refreshGrant(web, first), first);
  const third = assertRotated(t, await refreshGrant(web, second), second);
  const lastBefore = (await app.services.audit.list(1))[0]?.id ?? 0;

  clock.advance(REPLAY_AFTER);
  expectOAuthError(t, await refreshGrant(web, second), 400, "invalid_grant");
  expectOAuthError(t, await refreshGrant(web, third), 400, "invalid_grant");

  const since = (await app.services.audit.list(10)).filter((e) => e.id > lastBefore);
  const reuse = since.filter((e) => e.action === "refresh_token.reuse");
  t.equal(reuse.length, 1, "one reuse entry");
  t.equal(reuse[0]?.actor, `client:${web.clientId}`);
  t.equal(reuse[0]?.details.userId, alice.id);
});

t.test("another client cannot use the token, and the token still works for its owner", async (t) => {
  const token = await signIn();
  const other = await firstParty();
  expectOAuthError(t, await refreshGrant(other, token), 400, "invalid_grant");
  const lastBefore = (await app.services.audit.list(1))[0]?.id ?? 0;
  assertRotated(t, await refreshGrant(web, token), token);
  t.equal((await app.services.audit.list(10)).filter((e) => e.id > lastBefore && e.action === "refresh_token.reuse").length, 0, "not treated as reuse");
});

t.test("a third-party client with the refresh_token grant cannot use a first-party token", async (t) => {
  const token = await signIn();
  const thirdParty = await createClient({ grantTypes: ["client_credentials", "refresh_token"] });
  expectOAuthError(t, await refreshGrant(thirdParty, token), 400, "invalid_grant");
  assertRotated(t, await refreshGrant(web, token), token);
});

t.test("client authentication and the refresh_token grant are required", async (t) => {
  t.test("no client authentication: 401 invalid_client, and the token is not consumed", async (t) => {
    const token = await signIn();
    const res = await app.inject({ method: "POST", url: "/token", headers: FORM, payload: form({ grant_type: "refresh_token", refresh_token: token }) });
    expectOAuthError(t, res, 401, "invalid_client");
    assertRotated(t, await refreshGrant(web, token), token);
  });

  t.test("a wrong secret: 401 invalid_client with a Basic challenge, and the token is not consumed", async (t) => {
    const token = await signIn();
    const res = await refreshGrant({ clientId: web.clientId, clientSecret: "wrong" }, token);
    expectOAuthError(t, res, 401, "invalid_client");
    t.match(res.headers["www-authenticate"], /^Basic/);
    assertRotated(t, await refreshGrant(web, token), token);
  });

  t.test("a client that lost the refresh_token grant is unauthorized_client", async (t) => {
    const client = await firstParty();
    const token = await signIn(client);
    await app.services.clientAdmin.update(client.clientId, { grantTypes: ["password"] });
    expectOAuthError(t, await refreshGrant(client, token), 400, "unauthorized_client");
  });
});

t.test("scope narrowing", async (t) => {
  t.test("a subset of the original scope is granted for this access token", async (t) => {
    const token = await signIn();
    const res = await refreshGrant(web, token, { scope: "read" });
    const next = assertRotated(t, res, token);
    t.equal(res.json().scope, "read");
    t.equal(decodeJwt(res.json().access_token).scope, "read");
    // RFC 6749 §6: the refresh token keeps the scope of the original grant
    const after = await refreshGrant(web, next);
    assertRotated(t, after, next);
    t.equal(after.json().scope, "read write");
  });

  t.test("the whole original scope, asked for explicitly, is fine", async (t) => {
    const token = await signIn();
    const res = await refreshGrant(web, token, { scope: "write read" });
    assertRotated(t, res, token);
    t.same(res.json().scope.split(" ").sort(), ["read", "write"]);
  });

  t.test("a wider scope is invalid_scope", async (t) => {
    const token = await signIn();
    expectOAuthError(t, await refreshGrant(web, token, { scope: "read write admin" }), 400, "invalid_scope");
  });

  t.test("a client scope the original grant did not include is invalid_scope", async (t) => {
    const token = await signIn(web, { scope: "read" });
    expectOAuthError(t, await refreshGrant(web, token, { scope: "write" }), 400, "invalid_scope");
  });

  t.test("after invalid_scope the token is still usable (a refused request consumes nothing)", async (t) => {
    const token = await signIn();
    expectOAuthError(t, await refreshGrant(web, token, { scope: "admin" }), 400, "invalid_scope");
    assertRotated(t, await refreshGrant(web, token, { scope: "read" }), token);
  });
});

t.test("errors", async (t) => {
  t.test("a missing refresh_token is invalid_request", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "refresh_token" }),
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("an empty refresh_token counts as missing: invalid_request", async (t) => {
    expectOAuthError(t, await refreshGrant(web, ""), 400, "invalid_request");
  });

  t.test("a garbage token is invalid_grant", async (t) => {
    expectOAuthError(t, await refreshGrant(web, "garbage"), 400, "invalid_grant");
  });

  t.test("a well-formed but unknown token is invalid_grant", async (t) => {
    expectOAuthError(t, await refreshGrant(web, "A".repeat(43)), 400, "invalid_grant");
  });

  t.test("an access token presented as a refresh token is invalid_grant", async (t) => {
    const res = await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "alice-password-1", client_id: web.clientId } });
    expectOAuthError(t, await refreshGrant(web, res.json().access_token), 400, "invalid_grant");
  });
});

const ROTATE = (token: string) => refreshGrant(web, token);

/** Twenty answers to one token: exactly one 200, nineteen 400 invalid_grant, no 5xx. */
type Answer = { status: number; body: { error?: string; refresh_token?: string; access_token?: string } };
function assertOneWinner(t: Test, answers: Answer[]) {
  t.equal(answers.length, 20);
  t.equal(answers.filter((a) => a.status >= 500).length, 0, "no 5xx");
  const won = answers.filter((a) => a.status === 200);
  t.equal(won.length, 1, "exactly one 200");
  t.match(won[0]?.body.refresh_token, REFRESH_TOKEN);
  const lost = answers.filter((a) => a.status !== 200);
  t.equal(lost.length, 19);
  t.ok(
    lost.every((a) => a.status === 400 && a.body.error === "invalid_grant"),
    "the other 19 are 400 invalid_grant",
  );
  return won[0]!.body;
}

/**
 * The winner of a race keeps its session (a concurrent loser is not theft): its access token
 * introspects active, and its new refresh token rotates.
 */
async function assertWinnerValid(t: Test, winner: Answer["body"]) {
  const introspection = await app.inject({
    method: "POST",
    url: "/introspect",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ token: winner.access_token! }),
  });
  t.equal(introspection.json().active, true, "the winner's access token is active");
  const next = await ROTATE(winner.refresh_token!);
  t.equal(next.statusCode, 200, `the winner's refresh token rotates (answer: ${next.body})`);
}

t.test("twenty concurrent refresh_token grants with one token (inject): exactly one wins", async (t) => {
  const token = await signIn();
  const responses = await Promise.all(Array.from({ length: 20 }, () => refreshGrant(web, token)));
  const winner = assertOneWinner(
    t,
    responses.map((r) => ({ status: r.statusCode, body: r.json() })),
  );
  await assertWinnerValid(t, winner);
});

t.test("twenty concurrent refresh_token grants with one token over a real socket: exactly one wins", async (t) => {
  const token = await signIn();
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      fetch(`http://127.0.0.1:${port}/token`, {
        method: "POST",
        headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
        body: form({ grant_type: "refresh_token", refresh_token: token }),
      }),
    ),
  );
  const winner = assertOneWinner(t, await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Answer["body"] }))));
  await assertWinnerValid(t, winner);
});
