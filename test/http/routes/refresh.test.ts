// POST /refresh: the first-party refresh, token from the refresh_token cookie or a JSON or form body;
// rotation, reuse detection, concurrent use, lifetimes, and no token in any log.
import type { AddressInfo } from "node:net";
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { setCookies } from "../../helpers/cookies.js";
import { expectOAuthError } from "../../helpers/oauth.js";
import { CONCURRENT_USE_WINDOW_MS } from "../../../src/domain/tokens/refresh-token-service.js";

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const SEVEN_DAYS = 7 * 86400;

const { app, clock, createClient } = await buildTestApp(t);
/** Seconds after a rotation from which the rotated token, presented again, is reuse (not a concurrent request). */
const REPLAY_AFTER = CONCURRENT_USE_WINDOW_MS / 1000;

const firstParty = (input: Parameters<typeof createClient>[0] = {}) =>
  createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], ...input });

const web = await firstParty();
const alice = await app.services.users.create("alice", "alice-password-1");

/** Signs alice in at /login and returns the refresh token. */
async function signIn(clientId = web.clientId, username = "alice", password = "alice-password-1"): Promise<string> {
  const res = await app.inject({ method: "POST", url: "/login", payload: { username, password, client_id: clientId } });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  return res.json().refresh_token;
}

const withCookie = (token: string) => app.inject({ method: "POST", url: "/refresh", headers: { cookie: `refresh_token=${token}` } });
const withJson = (token: string) => app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: token } });
const withForm = (token: string) =>
  app.inject({
    method: "POST",
    url: "/refresh",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: form({ refresh_token: token }),
  });

/** Asserts a successful rotation: a new pair for alice, and the cookie set to the new token. */
function assertRotated(t: Test, res: LightMyRequestResponse, old: string): string {
  if (!t.equal(res.statusCode, 200, `rotated (answer: ${res.body})`)) return "";
  t.equal(res.headers["cache-control"], "no-store");
  const body = res.json();
  t.equal(body.token_type, "Bearer");
  t.equal(body.expires_in, 900);
  t.equal(body.scope, "read write");
  t.match(body.refresh_token, REFRESH_TOKEN);
  t.not(body.refresh_token, old, "a new refresh token");
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, alice.id);
  t.equal(claims.client_id, web.clientId);
  const cookies = setCookies(res);
  t.same(cookies.map((c) => c.attributes.path).sort(), ["/logout", "/refresh"]);
  for (const cookie of cookies) {
    t.equal(cookie.name, "refresh_token");
    t.equal(cookie.value, body.refresh_token, "the cookie carries the new token");
    t.equal(cookie.attributes.httponly, true);
    t.equal(cookie.attributes.samesite, "Strict");
    t.equal(cookie.attributes.secure, true);
  }
  return body.refresh_token;
}

t.test("the token from the cookie rotates; the old token dies", async (t) => {
  const old = await signIn();
  assertRotated(t, await withCookie(old), old);
  expectOAuthError(t, await withCookie(old), 400, "invalid_grant");
});

t.test("the token from a JSON body rotates; the old token dies", async (t) => {
  const old = await signIn();
  assertRotated(t, await withJson(old), old);
  expectOAuthError(t, await withJson(old), 400, "invalid_grant");
});

t.test("the token from a form body rotates; the old token dies", async (t) => {
  const old = await signIn();
  assertRotated(t, await withForm(old), old);
  expectOAuthError(t, await withForm(old), 400, "invalid_grant");
});

t.test("a chain of rotations through the cookie keeps the session going", async (t) => {
  let token = await signIn();
  for (let i = 0; i < 3; i++) token = assertRotated(t, await withCookie(token), token);
  t.match(token, REFRESH_TOKEN);
});

t.test("reuse of a rotated token", async (t) => {
  t.test("revokes the whole family: even the newest token then fails; the audit log records it", async (t) => {
    const first = await signIn();
    const second = assertRotated(t, await withCookie(first), first);
    const third = assertRotated(t, await withCookie(second), second);
    const lastBefore = (await app.services.audit.list(1))[0]?.id ?? 0;

    clock.advance(REPLAY_AFTER);
    expectOAuthError(t, await withJson(first), 400, "invalid_grant");
    expectOAuthError(t, await withCookie(third), 400, "invalid_grant");

    const since = (await app.services.audit.list(10)).filter((e) => e.id > lastBefore);
    const reuse = since.filter((e) => e.action === "refresh_token.reuse");
    t.equal(reuse.length, 1, "one reuse entry for this replay");
    t.equal(reuse[0]!.actor, `client:${web.clientId}`);
    t.match(reuse[0]!.target, /^refresh_family:/);
    t.equal(reuse[0]!.details.userId, alice.id);
    t.notOk(JSON.stringify(reuse).includes(first), "the audit entry holds no token");
  });

  t.test("other sessions of the same user go on", async (t) => {
    const victim = await signIn();
    const bystander = await signIn();
    assertRotated(t, await withJson(victim), victim);
    clock.advance(REPLAY_AFTER);
    expectOAuthError(t, await withJson(victim), 400, "invalid_grant");
    assertRotated(t, await withJson(bystander), bystander);
  });
});

const ROTATE = (token: string) => withJson(token);

/** Twenty requests with one token, all answered: statuses and bodies. */
type Answer = { status: number; body: { error?: string; refresh_token?: string; access_token?: string } };
function assertOneWinner(t: Test, answers: Answer[]) {
  t.equal(answers.length, 20);
  t.equal(answers.filter((a) => a.status >= 500).length, 0, "no 5xx");
  const won = answers.filter((a) => a.status === 200);
  const lost = answers.filter((a) => a.status !== 200);
  t.equal(won.length, 1, "exactly one 200");
  t.match(won[0]?.body.refresh_token, REFRESH_TOKEN);
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

t.test("twenty concurrent /refresh requests with one token (inject): exactly one wins", async (t) => {
  const token = await signIn();
  const responses = await Promise.all(Array.from({ length: 20 }, () => withCookie(token)));
  const winner = assertOneWinner(
    t,
    responses.map((r) => ({ status: r.statusCode, body: r.json() })),
  );
  await assertWinnerValid(t, winner);
});

t.test("twenty concurrent /refresh requests with one token over a real socket: exactly one wins", async (t) => {
  const token = await signIn();
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      fetch(`http://127.0.0.1:${port}/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      }),
    ),
  );
  const winner = assertOneWinner(t, await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Answer["body"] }))));
  await assertWinnerValid(t, winner);
});

t.test("lifetimes (default configuration)", async (t) => {
  t.test("a token unused for just under REFRESH_IDLE_TTL (7 days) still works", async (t) => {
    const token = await signIn();
    clock.advance(SEVEN_DAYS - 1);
    assertRotated(t, await withCookie(token), token);
  });

  t.test("a token unused for REFRESH_IDLE_TTL has expired", async (t) => {
    const token = await signIn();
    clock.advance(SEVEN_DAYS);
    expectOAuthError(t, await withCookie(token), 400, "invalid_grant");
  });

  t.test("used every 6 days, a session lasts until the 30-day absolute lifetime, not a second longer", async (t) => {
    let token = await signIn();
    for (let day = 6; day < 30; day += 6) {
      clock.advance(6 * 86400);
      token = assertRotated(t, await withCookie(token), token);
    }
    // day 24: the last token's idle expiry (day 31) is capped at the family's end (day 30)
    clock.advance(6 * 86400 - 1);
    token = assertRotated(t, await withCookie(token), token);
    clock.advance(1);
    expectOAuthError(t, await withCookie(token), 400, "invalid_grant");
  });
});

t.test("a disabled user's session no longer refreshes", async (t) => {
  await app.services.users.create("bob", "bob-password-1");
  const token = await signIn(web.clientId, "bob", "bob-password-1");
  await app.services.users.setEnabled("bob", false);
  expectOAuthError(t, await withCookie(token), 400, "invalid_grant");
});

t.test("a client that lost the refresh_token grant can no longer refresh", async (t) => {
  const client = await firstParty();
  const token = await signIn(client.clientId);
  await app.services.clientAdmin.update(client.clientId, { grantTypes: ["password"] });
  expectOAuthError(t, await withCookie(token), 400, "invalid_grant");
});

t.test("errors", async (t) => {
  t.test("no token at all: no cookie, no body", async (t) => {
    expectOAuthError(t, await app.inject({ method: "POST", url: "/refresh" }), 400, "invalid_request");
  });

  t.test("no token: an empty JSON object", async (t) => {
    expectOAuthError(t, await app.inject({ method: "POST", url: "/refresh", payload: {} }), 400, "invalid_request");
  });

  t.test("no token: a cookie with another name", async (t) => {
    const token = await signIn();
    const res = await app.inject({ method: "POST", url: "/refresh", headers: { cookie: `session=${token}` } });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("a token in the query string is not read", async (t) => {
    const token = await signIn();
    const res = await app.inject({ method: "POST", url: `/refresh?refresh_token=${token}` });
    expectOAuthError(t, res, 400, "invalid_request");
    assertRotated(t, await withCookie(token), token);
  });

  t.test("a garbage token is invalid_grant, from the cookie or the body", async (t) => {
    expectOAuthError(t, await withCookie("garbage"), 400, "invalid_grant");
    expectOAuthError(t, await withJson("garbage"), 400, "invalid_grant");
    expectOAuthError(t, await withForm("garbage"), 400, "invalid_grant");
  });

  t.test("a well-formed but unknown token is invalid_grant", async (t) => {
    expectOAuthError(t, await withJson("A".repeat(43)), 400, "invalid_grant");
  });

  t.test("a text/plain body is invalid_request", async (t) => {
    const res = await app.inject({ method: "POST", url: "/refresh", headers: { "content-type": "text/plain" }, payload: "x" });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("a repeated refresh_token form parameter is invalid_request", async (t) => {
    const res = await app.inject({
      method: "POST",
      url: "/refresh",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: form({ refresh_token: ["A".repeat(43), "B".repeat(43)] }),
    });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("a non-string refresh_token is invalid_request", async (t) => {
    expectOAuthError(t, await app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: 42 } }), 400, "invalid_request");
  });
});

t.test("refresh tokens never reach a log, even at LOG_LEVEL=debug", async (t) => {
  const debug = await buildTestApp(t, { LOG_LEVEL: "debug" });
  const client = await debug.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await debug.app.services.users.create("erin", "erin-password-1");
  const inject = debug.app.inject.bind(debug.app);
  const seen: string[] = [];
  const take = (res: LightMyRequestResponse) => {
    t.equal(res.statusCode, 200, `${res.raw.req.url} succeeded`);
    const body = res.json();
    seen.push(body.refresh_token, body.access_token);
    return body.refresh_token as string;
  };

  const first = take(await inject({ method: "POST", url: "/login", payload: { username: "erin", password: "erin-password-1", client_id: client.clientId } }));
  const second = take(await inject({ method: "POST", url: "/refresh", headers: { cookie: `refresh_token=${first}` } }));
  const third = take(await inject({ method: "POST", url: "/refresh", payload: { refresh_token: second } }));
  const fourth = take(
    await inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client.clientId, client.clientSecret) },
      payload: form({ grant_type: "refresh_token", refresh_token: third }),
    }),
  );
  // Failures log too: a token in a query string, and a replay (which logs a warning).
  debug.clock.advance(REPLAY_AFTER);
  const queried = await inject({ method: "POST", url: `/refresh?refresh_token=${fourth}` });
  t.equal(queried.statusCode, 400);
  const replay = await inject({ method: "POST", url: "/refresh", payload: { refresh_token: first } });
  t.equal(replay.statusCode, 400);
  const logout = await inject({ method: "POST", url: "/logout", headers: { cookie: `refresh_token=${fourth}` } });
  t.equal(logout.statusCode, 200);

  t.ok(debug.logs.length > 0, "logs were written");
  const all = debug.logs.join("\n");
  t.match(all, /"url":"\/refresh"/, "the requests were logged");
  t.match(all, /refresh token reuse/, "the replay was logged");
  for (const token of seen) t.notOk(all.includes(token), `token ${token.slice(0, 6)}… is in no log line`);
  t.notOk(all.includes("erin-password-1"), "the password is in no log line");
});
