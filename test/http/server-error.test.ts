// What no request should meet, and what it gets if it does: a failure that is neither the client's
// input nor the database being away answers 500 server_error with a fixed description (nothing of
// the failure), and is logged at error level with the error. The failure is injected at the outer
// edge: the users table is renamed under the running server, so a password sign-in hits a
// database error that says nothing about availability.
import t from "tap";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { expectOAuthError, FORM } from "../helpers/oauth.js";

const { app, createClient, logs } = await buildTestApp(t);
const web = await createClient({ firstParty: true, grantTypes: ["password"] });
await app.services.users.create("alice", "alice-password-1", "test");

t.test("a database error that is not an outage: 500 server_error, no detail in the answer, logged", async (t) => {
  await app.services.db.$executeRawUnsafe(`ALTER TABLE "User" RENAME TO "UserMoved"`);
  t.teardown(() => app.services.db.$executeRawUnsafe(`ALTER TABLE "UserMoved" RENAME TO "User"`));
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "password", username: "alice", password: "alice-password-1" }),
  });
  expectOAuthError(t, res, 500, "server_error");
  t.equal(res.json().error_description, "the server could not complete the request");
  t.notMatch(res.body, /User|table|relation/i, "nothing of the failure in the answer");
  const logged = logs.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } }).filter((entry) => entry.msg === "unhandled error");
  t.equal(logged.length, 1, "one error log");
  t.equal(logged[0]?.level, 50, "at error level");
  t.match(logged[0]?.err?.message, /User/, "with the error");
});

t.test("a sign-in at /login whose refresh family cannot be stored: 500 server_error, no cookie, nothing stored", async (t) => {
  // The user is read, the password checked; the family's table is gone: not a foreign key, not an outage.
  const spa = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await app.services.db.$executeRawUnsafe(`ALTER TABLE "RefreshFamily" RENAME TO "RefreshFamilyMoved"`);
  t.teardown(() => app.services.db.$executeRawUnsafe(`ALTER TABLE "RefreshFamilyMoved" RENAME TO "RefreshFamily"`));
  const res = await app.inject({ method: "POST", url: "/login", payload: { username: "alice", password: "alice-password-1", client_id: spa.clientId } });
  expectOAuthError(t, res, 500, "server_error");
  t.equal(res.headers["set-cookie"], undefined, "no cookie");
  t.equal(await app.services.db.refreshToken.count(), 0, "no refresh token");
});
