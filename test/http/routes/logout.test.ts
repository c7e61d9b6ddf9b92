// POST /logout: revokes the refresh-token family of the token from the cookie or the body, and clears
// the refresh cookie on both of its paths; answers 200 whatever the token.
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, form } from "../../helpers/app.js";
import { setCookies } from "../../helpers/cookies.js";
import { expectOAuthError } from "../../helpers/oauth.js";

const { app, createClient } = await buildTestApp(t);
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
await app.services.users.create("alice", "alice-password-1");

async function signIn(): Promise<string> {
  const res = await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "alice-password-1", client_id: web.clientId } });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  return res.json().refresh_token;
}

const refresh = (token: string) => app.inject({ method: "POST", url: "/refresh", headers: { cookie: `refresh_token=${token}` } });
const logoutWithCookie = (token: string) => app.inject({ method: "POST", url: "/logout", headers: { cookie: `refresh_token=${token}` } });

/** 200 {} with no-store, and the refresh cookie cleared on /refresh and on /logout. */
function assertLoggedOut(t: Test, res: LightMyRequestResponse) {
  t.equal(res.statusCode, 200);
  t.same(res.json(), {});
  t.equal(res.headers["cache-control"], "no-store");
  const cookies = setCookies(res);
  t.same(cookies.map((c) => c.attributes.path).sort(), ["/logout", "/refresh"], "cleared on both paths");
  for (const cookie of cookies) {
    t.equal(cookie.name, "refresh_token");
    t.equal(cookie.value, "", "emptied");
    t.equal(cookie.attributes["max-age"], "0", `Max-Age=0 on ${cookie.attributes.path}`);
    t.equal(new Date(String(cookie.attributes.expires)).getTime(), 0, "expires in the past");
    t.equal(cookie.attributes.httponly, true);
    t.equal(cookie.attributes.samesite, "Strict");
    t.equal(cookie.attributes.secure, true);
  }
}

t.test("logout with the cookie revokes the family and clears the cookie", async (t) => {
  const token = await signIn();
  assertLoggedOut(t, await logoutWithCookie(token));
  expectOAuthError(t, await refresh(token), 400, "invalid_grant");
});

t.test("logout with a JSON body revokes the family", async (t) => {
  const token = await signIn();
  assertLoggedOut(t, await app.inject({ method: "POST", url: "/logout", payload: { refresh_token: token } }));
  expectOAuthError(t, await refresh(token), 400, "invalid_grant");
});

t.test("logout with a form body revokes the family", async (t) => {
  const token = await signIn();
  const res = await app.inject({
    method: "POST",
    url: "/logout",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: form({ refresh_token: token }),
  });
  assertLoggedOut(t, res);
  expectOAuthError(t, await refresh(token), 400, "invalid_grant");
});

t.test("logout ends the whole family: after rotations, the newest token is dead", async (t) => {
  const first = await signIn();
  const second = (await refresh(first)).json().refresh_token;
  const third = (await refresh(second)).json().refresh_token;
  assertLoggedOut(t, await logoutWithCookie(third));
  expectOAuthError(t, await refresh(third), 400, "invalid_grant");
});

t.test("logout with an older, already rotated token of the family also ends the session", async (t) => {
  const first = await signIn();
  const second = (await refresh(first)).json().refresh_token;
  t.match(second, /^[A-Za-z0-9_-]{43}$/);
  assertLoggedOut(t, await app.inject({ method: "POST", url: "/logout", payload: { refresh_token: first } }));
  expectOAuthError(t, await refresh(second), 400, "invalid_grant");
});

t.test("logout is recorded in the audit log", async (t) => {
  const token = await signIn();
  const lastBefore = (await app.services.audit.list(1))[0]?.id ?? 0;
  assertLoggedOut(t, await logoutWithCookie(token));
  const since = (await app.services.audit.list(10)).filter((e) => e.id > lastBefore);
  t.equal(since.length, 1);
  t.equal(since[0]?.action, "refresh_family.revoke");
  t.equal(since[0]?.actor, `client:${web.clientId}`);
  t.notOk(JSON.stringify(since).includes(token), "the entry holds no token");
});

t.test("logout leaves the user's other sessions alone", async (t) => {
  const ending = await signIn();
  const other = await signIn();
  assertLoggedOut(t, await logoutWithCookie(ending));
  t.equal((await refresh(other)).statusCode, 200);
});

t.test("logout twice: the second still answers 200 and clears", async (t) => {
  const token = await signIn();
  assertLoggedOut(t, await logoutWithCookie(token));
  assertLoggedOut(t, await logoutWithCookie(token));
});

t.test("logout with an unknown token answers 200, clears the cookie, and revokes nothing", async (t) => {
  const bystander = await signIn();
  assertLoggedOut(t, await logoutWithCookie("A".repeat(43)));
  assertLoggedOut(t, await logoutWithCookie("garbage"));
  assertLoggedOut(t, await app.inject({ method: "POST", url: "/logout", payload: { refresh_token: "garbage" } }));
  t.equal((await refresh(bystander)).statusCode, 200, "other sessions are untouched");
});

t.test("logout without any token answers 200 and clears the cookie", async (t) => {
  assertLoggedOut(t, await app.inject({ method: "POST", url: "/logout" }));
  assertLoggedOut(t, await app.inject({ method: "POST", url: "/logout", payload: {} }));
});

t.test("logout with a text/plain body is invalid_request and revokes nothing", async (t) => {
  const token = await signIn();
  const res = await app.inject({
    method: "POST",
    url: "/logout",
    headers: { "content-type": "text/plain", cookie: `refresh_token=${token}` },
    payload: token,
  });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, "invalid_request");
  t.equal(res.headers["cache-control"], "no-store");
  t.equal((await refresh(token)).statusCode, 200, "the session is still alive");
});

t.test("an http issuer clears the cookie without Secure", async (t) => {
  const plain = await buildTestApp(t, { TESSERA_ISSUER: "http://tessera.test" });
  const res = await plain.app.inject({ method: "POST", url: "/logout" });
  t.equal(res.statusCode, 200);
  const cookies = setCookies(res);
  t.equal(cookies.length, 2);
  for (const cookie of cookies) {
    t.notOk("secure" in cookie.attributes);
    t.equal(cookie.attributes["max-age"], "0");
  }
});
