// User administration through the admin API: listing, showing, changing and deleting users, and
// their sessions (refresh families). Each change is checked by its effect (sign-in, refresh, the
// access tokens at /introspect) and by its audit entry under "admin:<client_id>".
import t, { type Test } from "tap";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const PASSWORD = "correct horse battery staple";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Json = Record<string, unknown>;
type User = { id: string; username: string; enabled: boolean; created_at: string; updated_at: string };
type Session = { id: string; client_id: string; client_name: string; created_at: string; last_used_at: string; expires_at: string };
type AuditEvent = { id: number; actor: string; action: string; target: string; details: Json };
type Tokens = { access_token: string; refresh_token: string };

const { app, config, clock, createClient } = await buildTestApp(t, { CACHE_REFRESH: "1h", REFRESH_IDLE_TTL: "1d", REFRESH_TOKEN_TTL: "30d" });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const ACTOR = `admin:${admin.clientId}`;
const web = await createClient({ name: "web app", grantTypes: ["password", "refresh_token"], firstParty: true, scopes: ["read"], audiences: [API] });

/** An admin token, fetched again when the clock has moved past the last one's expiry. */
let adminToken = { value: "", expiresAtMs: 0 };
async function adminBearer(): Promise<string> {
  if (clock.now() >= adminToken.expiresAtMs) {
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(admin.clientId, admin.clientSecret) },
      payload: form({ grant_type: "client_credentials", scope: "admin" }),
    });
    const body = res.json() as { access_token: string; expires_in: number };
    adminToken = { value: body.access_token, expiresAtMs: clock.now() + body.expires_in * 1000 };
  }
  return `Bearer ${adminToken.value}`;
}

async function call(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: Json) {
  return app.inject({ method, url, headers: { authorization: await adminBearer() }, ...(payload !== undefined && { payload }) });
}

const webToken = (params: Record<string, string>) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) }, payload: form(params) });

const signIn = (username: string, password = PASSWORD) => webToken({ grant_type: "password", username, password });

async function signedIn(t: Test, username: string): Promise<Tokens> {
  const res = await signIn(username);
  t.equal(res.statusCode, 200, `${username} signs in: ${res.body}`);
  return res.json() as Tokens;
}

/** Whether the access token is active, asked at /introspect by the client it was issued to. */
async function active(accessToken: string): Promise<boolean> {
  const res = await app.inject({ method: "POST", url: "/introspect", headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) }, payload: form({ token: accessToken }) });
  return (res.json() as { active: boolean }).active;
}

const refresh = (refreshToken: string) => webToken({ grant_type: "refresh_token", refresh_token: refreshToken });

async function audit(action: string, target: string): Promise<AuditEvent[]> {
  const events = ((await call("GET", "/admin/audit?limit=200")).json() as { events: AuditEvent[] }).events;
  return events.filter((e) => e.action === action && e.target === target);
}

async function createUser(username: string): Promise<User> {
  const res = await call("POST", "/admin/users", { username, password: PASSWORD });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as User;
}

const description = (res: { body: string }) => (JSON.parse(res.body) as { error_description?: string }).error_description;

const alice = await createUser("alice");
const bob = await createUser("bob");
const carol = await createUser("carol");
const dave = await createUser("dave");
const erin = await createUser("erin");

t.test("POST /admin/users answers the user as GET does", async (t) => {
  t.match(alice.id, UUID);
  t.same(Object.keys(alice).sort(), ["created_at", "email", "email_verified", "enabled", "id", "name", "updated_at", "username"], "no password or hash");
  t.same((await call("GET", `/admin/users/${alice.id}`)).json(), alice);
});

t.test("GET /admin/users", async (t) => {
  t.test("pages by username with limit and after", async (t) => {
    const first = await call("GET", "/admin/users?limit=2");
    t.equal(first.statusCode, 200);
    t.equal(first.headers["cache-control"], "no-store");
    const page1 = first.json() as { users: User[]; next_after: string | null };
    t.same(page1.users.map((u) => u.username), ["alice", "bob"]);
    t.same(page1.users[0], alice, "each user as GET /admin/users/:id shows it");
    t.equal(page1.next_after, "bob");
    const page2 = (await call("GET", "/admin/users?limit=2&after=bob")).json() as { users: User[]; next_after: string | null };
    t.same(page2.users.map((u) => u.username), ["carol", "dave"]);
    const page3 = (await call("GET", "/admin/users?limit=2&after=dave")).json() as { users: User[]; next_after: string | null };
    t.same(page3, { users: [erin], next_after: null }, "the last page says so");
    const all = (await call("GET", "/admin/users")).json() as { users: User[]; next_after: string | null };
    t.same(all.users.map((u) => u.username), ["alice", "bob", "carol", "dave", "erin"], "100 by default");
    t.equal(all.next_after, null);
  });

  t.test("username picks one user exactly", async (t) => {
    t.same((await call("GET", "/admin/users?username=carol")).json(), { users: [carol], next_after: null });
    t.same((await call("GET", "/admin/users?username=car")).json(), { users: [], next_after: null }, "no prefix match");
    t.same((await call("GET", "/admin/users?username=nobody")).json(), { users: [], next_after: null });
    t.same((await call("GET", "/admin/users?username=%00")).json(), { users: [], next_after: null }, "a name that cannot be one (NUL)");
    const badAfter = await call("GET", "/admin/users?after=%00");
    expectOAuthError(t, badAfter, 400, "invalid_request");
    t.equal(description(badAfter), "after: must be the next_after of the previous page");
  });

  t.test("a bad limit says what was expected", async (t) => {
    for (const limit of ["abc", "0", "501", "1000", "-1", "2.5", ""]) {
      const res = await call("GET", `/admin/users?limit=${limit}`);
      expectOAuthError(t, res, 400, "invalid_request");
      t.equal(description(res), "parameter limit must be an integer from 1 to 500", `limit=${limit}`);
    }
    t.equal((await call("GET", "/admin/users?limit=500")).statusCode, 200);
    const repeated = await call("GET", "/admin/users?limit=1&limit=2");
    expectOAuthError(t, repeated, 400, "invalid_request");
  });
});

t.test("GET /admin/users/:id", async (t) => {
  const unknown = await call("GET", "/admin/users/00000000-0000-4000-8000-000000000000");
  expectOAuthError(t, unknown, 404, "invalid_request");
  t.equal(description(unknown), "user 00000000-0000-4000-8000-000000000000 not found");
  const malformed = await call("GET", "/admin/users/not-a-uuid");
  expectOAuthError(t, malformed, 400, "invalid_request");
  t.equal(description(malformed), "path parameter id must be a UUID");
});

t.test("PATCH /admin/users/:id", async (t) => {
  t.test("enabled: false stops sign-in and refresh; true lets them again", async (t) => {
    const tokens = await signedIn(t, "bob");
    clock.advance(1);
    const res = await call("PATCH", `/admin/users/${bob.id}`, { enabled: false });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { id: bob.id, username: "bob", enabled: false });
    expectOAuthError(t, await signIn("bob"), 400, "invalid_grant");
    expectOAuthError(t, await refresh(tokens.refresh_token), 400, "invalid_grant");
    t.match(await audit("user.disable", `user:${bob.id}`), [{ actor: ACTOR, details: { username: "bob" } }]);

    t.match((await call("PATCH", `/admin/users/${bob.id}`, { enabled: true })).json(), { enabled: true });
    t.equal((await signIn("bob")).statusCode, 200);
    t.equal((await refresh(tokens.refresh_token)).statusCode, 200, "the refresh token was kept, not consumed");
    t.equal((await audit("user.enable", `user:${bob.id}`)).length, 1);
  });

  t.test("a value that is not a boolean says 'must be a boolean'", async (t) => {
    const res = await call("PATCH", `/admin/users/${bob.id}`, { enabled: "yes" });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(description(res), "enabled must be a boolean");
    t.equal(((await call("GET", `/admin/users/${bob.id}`)).json() as User).enabled, true);
  });

  t.test("username renames: the new name signs in, the old one no longer does", async (t) => {
    const res = await call("PATCH", `/admin/users/${carol.id}`, { username: "caroline" });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { id: carol.id, username: "caroline", enabled: true });
    t.equal((await signIn("caroline")).statusCode, 200);
    expectOAuthError(t, await signIn("carol"), 400, "invalid_grant");
    t.match(await audit("user.rename", `user:${carol.id}`), [{ actor: ACTOR, details: { username: "caroline", previousUsername: "carol" } }]);
  });

  t.test("a username that is taken or malformed is refused", async (t) => {
    const taken = await call("PATCH", `/admin/users/${carol.id}`, { username: "alice" });
    expectOAuthError(t, taken, 400, "invalid_request");
    t.equal(description(taken), "username: alice is taken");
    const malformed = await call("PATCH", `/admin/users/${carol.id}`, { username: "has space" });
    expectOAuthError(t, malformed, 400, "invalid_request");
    t.equal(description(malformed), "username: 1 to 128 letters, digits or . _ @ + -");
    t.equal(((await call("GET", `/admin/users/${carol.id}`)).json() as User).username, "caroline");
  });

  t.test("password from the body replaces the password", async (t) => {
    const res = await call("PATCH", `/admin/users/${dave.id}`, { password: "a new password 2" });
    t.equal(res.statusCode, 200);
    t.same(Object.keys(res.json() as Json).sort(), ["created_at", "email", "email_verified", "enabled", "id", "name", "updated_at", "username"]);
    expectOAuthError(t, await signIn("dave"), 400, "invalid_grant");
    t.equal((await signIn("dave", "a new password 2")).statusCode, 200);
    const events = await audit("user.set_password", `user:${dave.id}`);
    t.match(events, [{ actor: ACTOR, details: { username: "dave" } }]);
    t.notMatch(JSON.stringify(events), "a new password 2", "the password is in no audit entry");
  });

  t.test("a password in the query string is refused and changes nothing", async (t) => {
    const res = await app.inject({
      method: "PATCH",
      url: `/admin/users/${dave.id}?password=${encodeURIComponent("query password 3")}`,
      headers: { authorization: await adminBearer() },
      payload: {},
    });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(description(res), "the password goes in the JSON body, never in the query string");
    expectOAuthError(t, await signIn("dave", "query password 3"), 400, "invalid_grant");
    t.equal((await signIn("dave", "a new password 2")).statusCode, 200);
  });

  t.test("every field is checked before any is written", async (t) => {
    const res = await call("PATCH", `/admin/users/${dave.id}`, { username: "david", enabled: false, password: "short" });
    expectOAuthError(t, res, 400, "invalid_request");
    t.equal(description(res), "password: must be 8 to 1024 characters");
    t.match((await call("GET", `/admin/users/${dave.id}`)).json(), { username: "dave", enabled: true });
  });

  t.test("an empty body changes nothing and answers the user", async (t) => {
    const before = (await call("GET", `/admin/users/${dave.id}`)).json() as User;
    const auditBefore = ((await call("GET", "/admin/audit?limit=1")).json() as { events: AuditEvent[] }).events[0]!.id;
    const res = await call("PATCH", `/admin/users/${dave.id}`, {});
    t.equal(res.statusCode, 200);
    t.same(res.json(), before);
    t.equal(((await call("GET", "/admin/audit?limit=1")).json() as { events: AuditEvent[] }).events[0]!.id, auditBefore, "nothing audited");
  });

  t.test("an unknown user is 404", async (t) => {
    expectOAuthError(t, await call("PATCH", "/admin/users/00000000-0000-4000-8000-000000000000", { enabled: false }), 404, "invalid_request");
  });
});

t.test("sessions", async (t) => {
  const first = await signedIn(t, "erin");
  clock.advance(60);
  const login = await app.inject({ method: "POST", url: "/login", payload: { username: "erin", password: PASSWORD, client_id: web.clientId } });
  t.equal(login.statusCode, 200);
  const second = login.json() as Tokens;
  clock.advance(60);
  const rotated = (await refresh(first.refresh_token)).json() as Tokens;
  const rotatedAt = new Date(clock.now()).toISOString();

  t.test("GET lists the user's refresh families: client, created, last used", async (t) => {
    const res = await call("GET", `/admin/users/${erin.id}/sessions`);
    t.equal(res.statusCode, 200);
    const { sessions } = res.json() as { sessions: Session[] };
    t.equal(sessions.length, 2);
    t.same(sessions[0], {
      id: sessions[0]!.id,
      client_id: web.clientId,
      client_name: "web app",
      created_at: new Date(clock.now() - 120_000).toISOString(),
      last_used_at: rotatedAt,
      expires_at: new Date(clock.now() + 86_400_000).toISOString(),
    });
    t.match(sessions[1], { client_id: web.clientId, created_at: new Date(clock.now() - 60_000).toISOString(), last_used_at: new Date(clock.now() - 60_000).toISOString() });
    t.notMatch(res.body, first.refresh_token);
    t.notMatch(res.body, rotated.refresh_token);
  });

  t.test("sessions of another user or none: empty; unknown user: 404", async (t) => {
    t.same((await call("GET", `/admin/users/${alice.id}/sessions`)).json(), { sessions: [] });
    expectOAuthError(t, await call("GET", "/admin/users/00000000-0000-4000-8000-000000000000/sessions"), 404, "invalid_request");
  });

  t.test("DELETE ends them all: refresh tokens fail, live access tokens are revoked, audited", async (t) => {
    const other = await signedIn(t, "alice");
    t.equal(await active(second.access_token), true);
    t.equal(await active(rotated.access_token), true);
    const res = await call("DELETE", `/admin/users/${erin.id}/sessions`);
    t.equal(res.statusCode, 200);
    t.same(res.json(), { sessions_ended: 2 });
    t.equal(await active(first.access_token), false, "the first access token too");
    t.equal(await active(second.access_token), false);
    t.equal(await active(rotated.access_token), false);
    expectOAuthError(t, await refresh(rotated.refresh_token), 400, "invalid_grant");
    expectOAuthError(t, await app.inject({ method: "POST", url: "/refresh", payload: { refresh_token: second.refresh_token } }), 400, "invalid_grant");
    t.same((await call("GET", `/admin/users/${erin.id}/sessions`)).json(), { sessions: [] });
    t.match(await audit("user.end_sessions", `user:${erin.id}`), [{ actor: ACTOR, details: { username: "erin", sessionsEnded: 2 } }]);
    t.equal(await active(other.access_token), true, "another user's tokens are untouched");
    t.equal((await refresh(other.refresh_token)).statusCode, 200);
    t.equal((await signIn("erin")).statusCode, 200, "the user may sign in again");
    t.same((await call("DELETE", `/admin/users/${erin.id}/sessions`)).json(), { sessions_ended: 1 });
    t.same((await call("DELETE", `/admin/users/${erin.id}/sessions`)).json(), { sessions_ended: 0 }, "nothing left to end");
  });

  t.test("a session idle past REFRESH_IDLE_TTL or logged out is not listed", async (t) => {
    const kept = await signedIn(t, "bob");
    const loggedOut = await signedIn(t, "bob");
    const before = ((await call("GET", `/admin/users/${bob.id}/sessions`)).json() as { sessions: Session[] }).sessions.length;
    t.equal((await app.inject({ method: "POST", url: "/logout", payload: { refresh_token: loggedOut.refresh_token } })).statusCode, 200);
    t.equal(((await call("GET", `/admin/users/${bob.id}/sessions`)).json() as { sessions: Session[] }).sessions.length, before - 1);
    clock.advance(86_400);
    t.same((await call("GET", `/admin/users/${bob.id}/sessions`)).json(), { sessions: [] }, "every token of bob's idle for a day");
    expectOAuthError(t, await refresh(kept.refresh_token), 400, "invalid_grant");
  });
});

t.test("DELETE /admin/users/:id ends the sessions, then deletes the user", async (t) => {
  const tokens = await signedIn(t, "alice");
  t.equal(await active(tokens.access_token), true);
  const res = await call("DELETE", `/admin/users/${alice.id}`);
  t.equal(res.statusCode, 204);
  t.equal(res.body, "");
  t.equal(await active(tokens.access_token), false, "the access token is revoked");
  expectOAuthError(t, await refresh(tokens.refresh_token), 400, "invalid_grant");
  expectOAuthError(t, await signIn("alice"), 400, "invalid_grant");
  expectOAuthError(t, await call("GET", `/admin/users/${alice.id}`), 404, "invalid_request");
  t.equal(await app.services.db.refreshFamily.count({ where: { userId: alice.id } }), 0, "the families went with the user");
  const [deleted] = await audit("user.delete", `user:${alice.id}`);
  t.match(deleted, { actor: ACTOR, details: { username: "alice" } });
  t.equal(deleted?.details.sessionsEnded, 2, "this one, and the one from the sessions test (idled out, not yet pruned)");
  expectOAuthError(t, await call("DELETE", `/admin/users/${alice.id}`), 404, "invalid_request");
  t.equal((await call("POST", "/admin/users", { username: "alice", password: PASSWORD })).statusCode, 201, "the name is free again");
});

t.test("the new routes need an admin token", async (t) => {
  for (const [method, url] of [
    ["GET", "/admin/users"],
    ["GET", `/admin/users/${bob.id}`],
    ["PATCH", `/admin/users/${bob.id}`],
    ["DELETE", `/admin/users/${bob.id}`],
    ["GET", `/admin/users/${bob.id}/sessions`],
    ["DELETE", `/admin/users/${bob.id}/sessions`],
  ] as const) {
    const res = await app.inject({ method, url, ...(method === "PATCH" && { payload: { enabled: false } }) });
    t.equal(res.statusCode, 401, `${method} ${url}`);
    t.equal(res.headers["www-authenticate"], 'Bearer realm="tessera"');
  }
  t.match((await call("GET", `/admin/users/${bob.id}`)).json(), { enabled: true }, "bob is untouched");
});
