// POST /token, grant_type=refresh_token with resource or audience (RFC 8707 §2.2): the new access
// token is narrowed to audiences the original grant had; any other is invalid_target, never ignored.
import t from "tap";
import { decodeJwt } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";
const OTHER = "https://other.example.test";
const THIRD = "https://third.example.test";

const { app, createClient } = await buildTestApp(t);
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API, OTHER, THIRD] });
await app.services.users.create("alice", "alice-password-1");

const post = (params: Record<string, string | string[]>) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) }, payload: form(params) });

/** A refresh token of a sign-in for the given audiences. */
async function signIn(resource: string[]): Promise<string> {
  const res = await post({ grant_type: "password", username: "alice", password: "alice-password-1", resource });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
  return res.json().refresh_token;
}

const refresh = (refreshToken: string, params: Record<string, string | string[]> = {}) =>
  post({ grant_type: "refresh_token", refresh_token: refreshToken, ...params });

const audOf = (res: { json(): { access_token: string } }) => decodeJwt(res.json().access_token).aud;

t.test("resource narrows this access token to one audience of the grant; the refresh token keeps them all", async (t) => {
  const token = await signIn([API, OTHER]);
  const narrowed = await refresh(token, { resource: API });
  t.equal(narrowed.statusCode, 200, narrowed.body);
  t.equal(audOf(narrowed), API);
  const next = await refresh(narrowed.json().refresh_token);
  t.equal(next.statusCode, 200);
  t.strictSame(audOf(next), [API, OTHER], "without resource: every audience of the original grant");
  const other = await refresh(next.json().refresh_token, { resource: OTHER });
  t.equal(audOf(other), OTHER);
});

t.test("audience narrows the same way", async (t) => {
  const token = await signIn([API, OTHER]);
  const res = await refresh(token, { audience: OTHER });
  t.equal(res.statusCode, 200, res.body);
  t.equal(audOf(res), OTHER);
});

t.test("several resources, each one the grant had", async (t) => {
  const token = await signIn([API, OTHER, THIRD]);
  const res = await refresh(token, { resource: [THIRD, API] });
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(audOf(res), [THIRD, API]);
});

t.test("an audience the client is registered for but the grant did not have is invalid_target, and consumes nothing", async (t) => {
  const token = await signIn([API]);
  expectOAuthError(t, await refresh(token, { resource: OTHER }), 400, "invalid_target");
  expectOAuthError(t, await refresh(token, { resource: [API, OTHER] }), 400, "invalid_target");
  expectOAuthError(t, await refresh(token, { audience: OTHER }), 400, "invalid_target");
  const after = await refresh(token);
  t.equal(after.statusCode, 200, "the refused request left the token usable");
  t.equal(audOf(after), API);
});

t.test("an audience nobody registered is invalid_target", async (t) => {
  const token = await signIn([API]);
  expectOAuthError(t, await refresh(token, { resource: "https://elsewhere.example.test" }), 400, "invalid_target");
  expectOAuthError(t, await refresh(token, { resource: `${API}#fragment` }), 400, "invalid_target");
});

t.test("resource and audience together are invalid_request", async (t) => {
  const token = await signIn([API]);
  expectOAuthError(t, await refresh(token, { resource: API, audience: API }), 400, "invalid_request");
});
