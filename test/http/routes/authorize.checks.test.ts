// /authorize's parameter checks, each with its exact answer: the client and redirect URI errors are a
// 400 page that never redirects; every other error redirects with error, error_description, state
// and iss (RFC 6749 §4.1.2.1, RFC 9207): 302 to a GET, 303 to a form POST.
import type { LightMyRequestResponse } from "fastify";
import t, { type Test } from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { authorizeFixture, authorizeQuery, CHALLENGE, codeClient, locationParams, REDIRECT_URI } from "../../helpers/authorize.js";

const f = await authorizeFixture(t);

function expectErrorPage(t: Test, res: LightMyRequestResponse, text: RegExp) {
  t.equal(res.statusCode, 400, "400");
  t.equal(res.headers.location, undefined, "no Location: never a redirect");
  t.equal(res.headers["content-type"], "text/html; charset=utf-8");
  t.equal(res.headers["cache-control"], "no-store");
  t.equal(res.headers["x-frame-options"], "DENY");
  t.match(res.body, /<h1>This request cannot be completed<\/h1>/);
  t.match(res.body, text);
}

function expectErrorRedirect(t: Test, res: LightMyRequestResponse, error: string, description: string, status = 302, state: string | null = "xyz") {
  t.equal(res.statusCode, status, `${status}`);
  t.equal(res.headers["cache-control"], "no-store");
  const location = new URL(res.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI, "to the redirect URI");
  t.same(locationParams(res), { error, error_description: description, ...(state !== null && { state }), iss: "https://tessera.test" });
}

t.test("client_id and redirect_uri: a 400 page, never a redirect", async (t) => {
  expectErrorPage(t, await f.authorize({ client_id: "no-such-client" }), /<p class="error" role="alert">unknown client<\/p>/);
  expectErrorPage(t, await f.authorize({ client_id: undefined }), /parameter client_id is missing/);
  expectErrorPage(t, await f.authorize({ client_id: [f.clientId, f.clientId] }), /parameter client_id is repeated/);
  expectErrorPage(t, await f.authorize({ redirect_uri: "https://evil.example.test/callback" }), /redirect_uri is not registered for this client/);
  expectErrorPage(t, await f.authorize({ redirect_uri: `${REDIRECT_URI}/` }), /redirect_uri is not registered for this client/);
  expectErrorPage(t, await f.authorize({ redirect_uri: [REDIRECT_URI, REDIRECT_URI] }), /parameter redirect_uri is repeated/);
  // Even an error that would otherwise redirect: the redirect URI is not trusted yet.
  expectErrorPage(t, await f.authorize({ redirect_uri: "https://evil.example.test/callback", response_type: "token" }), /redirect_uri is not registered/);

  const noCodeFlow = (await f.createClient({ name: "machine" })).clientId;
  expectErrorPage(t, await f.authorize({ client_id: noCodeFlow }), /this client is not registered for the authorization code flow/);
  const disabled = await codeClient(f, { name: "disabled" });
  await f.app.services.clientAdmin.update(disabled, { enabled: false });
  expectErrorPage(t, await f.authorize({ client_id: disabled }), /unknown client/);
});

t.test("redirect_uri may be omitted when the client has exactly one", async (t) => {
  const page = await f.authorize({ redirect_uri: undefined });
  t.equal(page.statusCode, 200, "the sign-in page");
  const two = await codeClient(f, { redirectUris: [REDIRECT_URI, "https://app.example.test/other"] });
  expectErrorPage(t, await f.authorize({ client_id: two, redirect_uri: undefined }), /parameter redirect_uri is missing \(the client has more than one registered\)/);
  t.equal((await f.authorize({ client_id: two, redirect_uri: "https://app.example.test/other" })).statusCode, 200);
});

t.test("loopback redirect URIs match on any port (RFC 8252 §7.3)", async (t) => {
  const native = await codeClient(f, { redirectUris: ["http://127.0.0.1/callback"] });
  const page = await f.authorize({ client_id: native, redirect_uri: "http://127.0.0.1:51234/callback" });
  t.equal(page.statusCode, 200);
  t.match(page.headers["content-security-policy"], /form-action 'self' http:\/\/127\.0\.0\.1:51234;/, "the form may be answered with a redirect to that port");
  expectErrorPage(t, await f.authorize({ client_id: native, redirect_uri: "http://127.0.0.1:51234/other" }), /not registered/);
  const res = await f.authorize({ client_id: native, redirect_uri: "http://127.0.0.1:51234/callback", response_type: "token" });
  t.equal(res.statusCode, 302);
  t.match(res.headers.location, /^http:\/\/127\.0\.0\.1:51234\/callback\?error=unsupported_response_type&/, "the error goes to the port the request named");
});

t.test("response_type", async (t) => {
  expectErrorRedirect(t, await f.authorize({ response_type: undefined }), "invalid_request", "parameter response_type is missing");
  expectErrorRedirect(t, await f.authorize({ response_type: "token" }), "unsupported_response_type", "only response_type=code is supported");
  expectErrorRedirect(t, await f.authorize({ response_type: "code id_token" }), "unsupported_response_type", "only response_type=code is supported");
});

t.test("PKCE: S256 required, plain refused", async (t) => {
  expectErrorRedirect(t, await f.authorize({ code_challenge: undefined }), "invalid_request", "code_challenge is required (PKCE with S256)");
  expectErrorRedirect(t, await f.authorize({ code_challenge: undefined, code_challenge_method: undefined }), "invalid_request", "code_challenge is required (PKCE with S256)");
  expectErrorRedirect(t, await f.authorize({ code_challenge_method: undefined }), "invalid_request", "code_challenge_method is required and must be S256");
  expectErrorRedirect(t, await f.authorize({ code_challenge_method: "plain" }), "invalid_request", "code_challenge_method must be S256 (plain is not allowed)");
  expectErrorRedirect(t, await f.authorize({ code_challenge: "too-short" }), "invalid_request", "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~");
  expectErrorRedirect(t, await f.authorize({ code_challenge: `${CHALLENGE.slice(0, 42)}!` }), "invalid_request", "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~");
});

t.test("scope must be within the client's", async (t) => {
  expectErrorRedirect(t, await f.authorize({ scope: "read admin" }), "invalid_scope", "scope not allowed for this client: admin");
  expectErrorRedirect(t, await f.authorize({ scope: "read\u00e9" }), "invalid_scope", "scope contains characters outside RFC 6749 section 3.3");
});

t.test("resource and audience pick the audience as at /token", async (t) => {
  expectErrorRedirect(t, await f.authorize({ resource: "https://unknown.example.test" }), "invalid_target", "requested audience is not registered for this client");
  expectErrorRedirect(t, await f.authorize({ audience: "https://unknown.example.test" }), "invalid_target", "requested audience is not registered for this client");
  expectErrorRedirect(t, await f.authorize({ resource: "https://api.example.test", audience: "https://api.example.test" }), "invalid_request", "use either resource or audience, not both");
  expectErrorRedirect(t, await f.authorize({ resource: "https://api.example.test#x" }), "invalid_target", "resource must not contain a fragment (RFC 8707 section 2)");
  expectErrorRedirect(t, await f.authorize({ audience: ["https://api.example.test", "https://other.example.test"] }), "invalid_request", "parameter audience is repeated");

  // Two resources: both audiences are bound to the code (first-party client: no consent page).
  const jar = new (await import("../../helpers/authorize.js")).CookieJar();
  const page = await f.authorize({ client_id: f.firstPartyId, resource: ["https://api.example.test", "https://other.example.test"] }, jar);
  const done = await f.signIn(page, undefined, undefined, jar);
  t.equal(done.statusCode, 303);
  const code = locationParams(done).code!;
  const row = await f.app.services.db.authorizationCode.findUnique({ where: { digest: sha256(code) } });
  t.equal(row?.audience, "https://api.example.test https://other.example.test");
});

t.test("prompt, max_age, nonce, login_hint", async (t) => {
  expectErrorRedirect(t, await f.authorize({ prompt: "select_account" }), "invalid_request", "unsupported prompt value: select_account");
  expectErrorRedirect(t, await f.authorize({ prompt: "none login" }), "invalid_request", "prompt=none cannot be combined with other values");
  expectErrorRedirect(t, await f.authorize({ max_age: "-1" }), "invalid_request", "max_age must be a non-negative integer (seconds)");
  expectErrorRedirect(t, await f.authorize({ max_age: "1.5" }), "invalid_request", "max_age must be a non-negative integer (seconds)");
  expectErrorRedirect(t, await f.authorize({ nonce: "n".repeat(2049) }), "invalid_request", "nonce is longer than 2048 characters");
  expectErrorRedirect(t, await f.authorize({ login_hint: "n".repeat(2049) }), "invalid_request", "login_hint is longer than 2048 characters");
  t.equal((await f.authorize({ prompt: "login consent", max_age: "0", nonce: "n-0S6_WzA2Mj" })).statusCode, 200);
});

t.test("a repeated parameter is invalid_request; state is echoed only when given once", async (t) => {
  expectErrorRedirect(t, await f.authorize({ scope: ["read", "write"] }), "invalid_request", "parameter scope is repeated");
  expectErrorRedirect(t, await f.authorize({ state: ["a", "b"] }), "invalid_request", "parameter state is repeated", 302, null);
  expectErrorRedirect(t, await f.authorize({ state: undefined, response_type: "token" }), "unsupported_response_type", "only response_type=code is supported", 302, null);
});

t.test("the first failing check answers, in node-oidc-provider's order", async (t) => {
  expectErrorRedirect(t, await f.authorize({ response_type: "token", scope: "admin", code_challenge: undefined }), "unsupported_response_type", "only response_type=code is supported");
  expectErrorRedirect(t, await f.authorize({ scope: "admin", code_challenge: undefined }), "invalid_scope", "scope not allowed for this client: admin");
});

t.test("the redirect URI's own query is kept", async (t) => {
  const withQuery = "https://app.example.test/callback?tenant=a%20b";
  const client = await codeClient(f, { redirectUris: [withQuery] });
  const res = await f.authorize({ client_id: client, redirect_uri: withQuery, response_type: "token" });
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, "https://app.example.test/callback?tenant=a+b&error=unsupported_response_type&error_description=only+response_type%3Dcode+is+supported&state=xyz&iss=https%3A%2F%2Ftessera.test");
});

t.test("POST /authorize takes the request as a form body; its redirects are 303", async (t) => {
  const post = (params: Record<string, string | undefined>) =>
    f.app.inject({ method: "POST", url: "/authorize", payload: authorizeQuery(f.clientId, params), headers: { "content-type": "application/x-www-form-urlencoded" } });
  const page = await post({});
  t.equal(page.statusCode, 200);
  t.match(page.body, /action="\/authorize\/sign-in"/);
  expectErrorRedirect(t, await post({ code_challenge_method: "plain" }), "invalid_request", "code_challenge_method must be S256 (plain is not allowed)", 303);
  const json = await f.app.inject({ method: "POST", url: "/authorize", payload: { client_id: f.clientId }, headers: { "content-type": "application/json" } });
  expectErrorPage(t, json, /content type must be application\/x-www-form-urlencoded/);
});
