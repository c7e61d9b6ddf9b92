// The users' OpenID Connect profile (name, email, email_verified) through the admin API: created,
// shown, changed and cleared; bad values answer invalid_request naming the field; a new email is
// unverified unless email_verified comes with it. Audited by field name, never by value.
import t from "tap";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const PASSWORD = "correct horse battery staple";
type Json = Record<string, unknown>;

const { app, config, createClient } = await buildTestApp(t);
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const token = (
  await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(admin.clientId, admin.clientSecret) }, payload: form({ grant_type: "client_credentials", scope: "admin" }) })
).json() as { access_token: string };
const call = (method: "GET" | "POST" | "PATCH", url: string, payload?: Json) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token.access_token}` }, ...(payload !== undefined && { payload }) });

t.test("POST creates a user with a name and an email; GET shows them", async (t) => {
  const res = await call("POST", "/admin/users", { username: "ann", password: PASSWORD, name: "Ann Ñandú", email: "ann@example.test", email_verified: true });
  t.equal(res.statusCode, 201, res.body);
  const user = res.json() as Json;
  t.match(user, { username: "ann", name: "Ann Ñandú", email: "ann@example.test", email_verified: true });
  t.same((await call("GET", `/admin/users/${String(user.id)}`)).json(), user);
});

t.test("without profile fields they are null and email_verified false", async (t) => {
  const user = (await call("POST", "/admin/users", { username: "ben", password: PASSWORD })).json() as Json;
  t.match(user, { name: null, email: null, email_verified: false });
});

t.test("PATCH sets, changes and clears them", async (t) => {
  const { id } = (await call("POST", "/admin/users", { username: "cat", password: PASSWORD })).json() as { id: string };
  let res = await call("PATCH", `/admin/users/${id}`, { name: "Cat", email: "cat@example.test", email_verified: true });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { name: "Cat", email: "cat@example.test", email_verified: true });
  res = await call("PATCH", `/admin/users/${id}`, { email: "cat@new.example.test" });
  t.match(res.json(), { name: "Cat", email: "cat@new.example.test", email_verified: false }, "a new email is unverified");
  res = await call("PATCH", `/admin/users/${id}`, { name: null, email: null });
  t.match(res.json(), { name: null, email: null, email_verified: false });
  const audit = (await call("GET", "/admin/audit?limit=200")).json() as { events: { action: string; target: string; details: Json }[] };
  const changes = audit.events.filter((e) => e.action === "user.update_profile" && e.target === `user:${id}`);
  t.equal(changes.length, 3);
  t.notOk(JSON.stringify(changes).includes("cat@"), "no email address in the audit log");
  t.same(changes.map((e) => (e.details.changed as string[]).sort()).sort(), [["email", "emailVerified", "name"], ["email", "emailVerified"], ["email", "name"]].sort());
});

t.test("bad values answer invalid_request naming the field", async (t) => {
  const { id } = (await call("POST", "/admin/users", { username: "dan", password: PASSWORD })).json() as { id: string };
  let res = await call("PATCH", `/admin/users/${id}`, { email: "not an address" });
  expectOAuthError(t, res, 400, "invalid_request");
  t.match(res.json(), { error_description: /email.*an email address \(local@domain, no spaces\)/ });
  res = await call("POST", "/admin/users", { username: "eve", password: PASSWORD, name: "" });
  expectOAuthError(t, res, 400, "invalid_request");
  t.match(res.json(), { error_description: /name/ });
  res = await call("PATCH", `/admin/users/${id}`, { name: "bell\u0007" });
  expectOAuthError(t, res, 400, "invalid_request");
  t.match(res.json(), { error_description: "name: 1 to 256 characters, no control characters" });
  res = await call("PATCH", `/admin/users/${id}`, { email_verified: true });
  expectOAuthError(t, res, 400, "invalid_request");
  t.match(res.json(), { error_description: "email_verified: the user has no email" });
  t.match((await call("GET", `/admin/users/${id}`)).json(), { name: null, email: null, email_verified: false }, "nothing written");
});
