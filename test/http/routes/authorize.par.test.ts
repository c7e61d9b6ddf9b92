// /authorize?client_id&request_uri (RFC 9126 §4): the pushed request is used once, unexpired, by the
// client that pushed it, and replaces every other parameter of the query; a request_uri that names no
// usable request is a 400 page (never a redirect: the redirect URI to trust is in the request that
// cannot be used). REQUIRE_PAR=on or the client's require_pushed_authorization_requests refuse
// requests that were not pushed, with a redirect (invalid_request).
import type { LightMyRequestResponse } from "fastify";
import t, { type Test } from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { PushedAuthorizationRequestRepository } from "../../../src/storage/pushed-authorization-requests.js";
import { basic, form } from "../../helpers/app.js";
import { authorizeFixture, CHALLENGE, CookieJar, locationParams, REDIRECT_URI, VERIFIER, type AuthorizeFixture } from "../../helpers/authorize.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const AUTH_REQUEST = { response_type: "code", redirect_uri: REDIRECT_URI, state: "pushed-state", scope: "read", code_challenge: CHALLENGE, code_challenge_method: "S256" };
const UNUSABLE = "request_uri is unknown, expired or already used, or was pushed by another client";

async function pushed(f: AuthorizeFixture, params: Record<string, string> = {}, clientId = f.clientId, secret = f.clientSecret): Promise<string> {
  const res = await f.app.inject({ method: "POST", url: "/par", headers: { ...FORM, authorization: basic(clientId, secret) }, payload: form({ ...AUTH_REQUEST, ...params }) });
  if (res.statusCode !== 201) throw new Error(`push refused: ${res.body}`);
  return (res.json() as { request_uri: string }).request_uri;
}

const useUri = (f: AuthorizeFixture, query: Record<string, string | string[]>, jar = new CookieJar()) =>
  f.app.inject({ method: "GET", url: `/authorize?${form(query)}`, headers: jar.header() }).then((res) => jar.take(res));

function expectErrorPage(t: Test, res: LightMyRequestResponse, text: string) {
  t.equal(res.statusCode, 400, "400");
  t.equal(res.headers.location, undefined, "never a redirect");
  t.equal(res.headers["content-type"], "text/html; charset=utf-8");
  t.match(res.body, /<h1>This request cannot be completed<\/h1>/);
  t.ok(res.body.includes(text), text);
}

t.test("push, then sign in through client_id and request_uri: the pushed request is the one answered", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f);
  const jar = new CookieJar();
  // Other query parameters are ignored (§4): not the state, not a redirect URI the client never registered.
  const page = await useUri(f, { client_id: f.clientId, request_uri: requestUri, state: "from-the-query", redirect_uri: "https://evil.example.test/cb", scope: "write" }, jar);
  t.equal(page.statusCode, 200, "the sign-in page");
  const consent = await f.signIn(page, undefined, undefined, jar);
  t.match(consent.body, /<li><code>read<\/code><\/li>/, "the pushed scope");
  t.notMatch(consent.body, /<code>write<\/code>/);
  const done = await f.post("/authorize/consent", consent, { decision: "allow" }, jar);
  t.equal(done.statusCode, 303);
  t.ok((done.headers.location as string).startsWith(`${REDIRECT_URI}?`), "to the pushed redirect URI");
  const params = locationParams(done);
  t.equal(params.state, "pushed-state", "the pushed state");
  t.equal(params.iss, "https://tessera.test");

  const exchange = await f.app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(f.clientId, f.clientSecret) },
    payload: form({ grant_type: "authorization_code", code: params.code!, code_verifier: VERIFIER, redirect_uri: REDIRECT_URI }),
  });
  t.equal(exchange.statusCode, 200, exchange.body);
  t.equal(exchange.json().scope, "read");
  t.equal(await f.app.services.db.pushedAuthorizationRequest.count(), 0, "used: deleted");
});

t.test("a request_uri is used once: the second use is the error page", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f);
  t.equal((await useUri(f, { client_id: f.clientId, request_uri: requestUri })).statusCode, 200);
  expectErrorPage(t, await useUri(f, { client_id: f.clientId, request_uri: requestUri }), UNUSABLE);
});

t.test("two concurrent uses: exactly one wins", async (t) => {
  const f = await authorizeFixture(t);
  for (let round = 0; round < 3; round++) {
    const requestUri = await pushed(f);
    const answers = await Promise.all(Array.from({ length: 5 }, () => useUri(f, { client_id: f.clientId, request_uri: requestUri })));
    t.same(answers.map((a) => a.statusCode).sort(), [200, 400, 400, 400, 400], `round ${round}: one sign-in page, four error pages`);
  }
  // The same race on the repository itself, without the HTTP layer in between.
  const repo = f.app.services.pushedRequests;
  const requestUri = await pushed(f);
  const client = f.app.services.clients.get(f.clientId)!;
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => repo.use(client, requestUri)));
  t.equal(results.filter((r) => r.status === "fulfilled").length, 1, "one use of ten gets the request");
});

t.test("a request_uri expires after PAR_TTL", async (t) => {
  const f = await authorizeFixture(t, { PAR_TTL: "30" });
  const late = await pushed(f);
  const inTime = await pushed(f);
  f.clock.advance(29);
  t.equal((await useUri(f, { client_id: f.clientId, request_uri: inTime })).statusCode, 200, "29 s later: usable");
  f.clock.advance(1);
  expectErrorPage(t, await useUri(f, { client_id: f.clientId, request_uri: late }), UNUSABLE);
  t.equal((await f.app.services.db.pushedAuthorizationRequest.count()), 1, "the expired one is left for pruning");
  const { pruneExpired } = await import("../../../src/domain/maintenance.js");
  t.equal((await pruneExpired(f.app.services.db, f.clock)).pushedAuthorizationRequests, 1, "and pruned");
});

t.test("bound to the client that pushed it: another client's use fails and leaves it usable", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f);
  expectErrorPage(t, await useUri(f, { client_id: f.firstPartyId, request_uri: requestUri }), UNUSABLE);
  t.equal((await useUri(f, { client_id: f.clientId, request_uri: requestUri })).statusCode, 200, "its own client still can");
});

t.test("client_id is required with request_uri; unknown, malformed and repeated request_uri are the error page", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f);
  expectErrorPage(t, await useUri(f, { request_uri: requestUri }), "parameter client_id is missing");
  expectErrorPage(t, await useUri(f, { client_id: "no-such-client", request_uri: requestUri }), "unknown client");
  const altered = `${requestUri.slice(0, -1)}${requestUri.endsWith("A") ? "B" : "A"}`; // never the URI itself
  expectErrorPage(t, await useUri(f, { client_id: f.clientId, request_uri: altered }), UNUSABLE);
  expectErrorPage(t, await useUri(f, { client_id: f.clientId, request_uri: "https://client.example.test/request.jwt" }), UNUSABLE);
  expectErrorPage(t, await useUri(f, { client_id: f.clientId, request_uri: [requestUri, requestUri] }), "parameter request_uri is repeated");
  t.equal((await useUri(f, { client_id: f.clientId, request_uri: requestUri })).statusCode, 200, "none of those used it");
});

t.test("the pushed request is checked again: a client changed since the push gets the error by redirect", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f, { scope: "write" });
  await f.app.services.clientAdmin.update(f.clientId, { scopes: ["read"] });
  const res = await useUri(f, { client_id: f.clientId, request_uri: requestUri });
  t.equal(res.statusCode, 302);
  t.same(locationParams(res), { error: "invalid_scope", error_description: "scope not allowed for this client: write", state: "pushed-state", iss: "https://tessera.test" });
});

t.test("a form POST to /authorize may carry client_id and request_uri too", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f);
  const res = await f.app.inject({ method: "POST", url: "/authorize", headers: FORM, payload: form({ client_id: f.clientId, request_uri: requestUri }) });
  t.equal(res.statusCode, 200, "the sign-in page");
});

function expectParRequired(t: Test, res: LightMyRequestResponse) {
  t.equal(res.statusCode, 302, "a redirect: client and redirect URI are known");
  t.ok((res.headers.location as string).startsWith(`${REDIRECT_URI}?`));
  t.same(locationParams(res), {
    error: "invalid_request",
    error_description: "this client must push its authorization requests to the pushed_authorization_request_endpoint (RFC 9126) and send only client_id and request_uri",
    state: "xyz",
    iss: "https://tessera.test",
  });
}

t.test("REQUIRE_PAR=on: /authorize takes only pushed requests", async (t) => {
  const f = await authorizeFixture(t, { REQUIRE_PAR: "on" });
  expectParRequired(t, await f.authorize());
  expectParRequired(t, await f.authorize({ client_id: f.firstPartyId }));
  t.equal((await useUri(f, { client_id: f.clientId, request_uri: await pushed(f) })).statusCode, 200, "a pushed request is answered");
});

t.test("require_pushed_authorization_requests: that client only", async (t) => {
  const f = await authorizeFixture(t);
  // Through the client service (the admin API's and CLI's field is another change).
  await f.app.services.clientAdmin.update(f.clientId, { requirePushedAuthorizationRequests: true });
  expectParRequired(t, await f.authorize());
  t.equal((await f.authorize({ client_id: f.firstPartyId })).statusCode, 200, "another client may still send its request directly");
  t.equal((await useUri(f, { client_id: f.clientId, request_uri: await pushed(f) })).statusCode, 200, "its pushed requests are answered");
});

t.test("dpop_jkt pushed: the code is bound to it", async (t) => {
  const f = await authorizeFixture(t);
  const own = await f.createClient({ name: "Own", grantTypes: ["authorization_code"], redirectUris: [REDIRECT_URI], firstParty: true });
  const jkt = sha256("a DPoP key of the tests");
  const jar = new CookieJar();
  const page = await useUri(f, { client_id: own.clientId, request_uri: await pushed(f, { dpop_jkt: jkt }, own.clientId, own.clientSecret) }, jar);
  const done = await f.signIn(page, undefined, undefined, jar);
  t.equal(done.statusCode, 303, "a first-party client: no consent page");
  const code = locationParams(done).code!;
  t.equal((await f.app.services.authorizationCodes.findByDigest(sha256(code)))!.dpopJkt, jkt);
  const exchange = await f.app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(own.clientId, own.clientSecret) },
    payload: form({ grant_type: "authorization_code", code, code_verifier: VERIFIER, redirect_uri: REDIRECT_URI }),
  });
  expectOAuthError(t, exchange, 400, "invalid_grant");
});

t.test("PushedRequestService.push: another client_id, and a client deleted since it authenticated, are refused", async (t) => {
  const f = await authorizeFixture(t);
  const pushes = f.app.services.pushedRequests;
  const client = f.app.services.clients.get(f.clientId)!;
  await t.rejects(pushes.push(client, { ...AUTH_REQUEST, client_id: f.firstPartyId }), { code: "invalid_request", description: "client_id does not match the authenticated client" });
  await f.app.services.clientAdmin.delete(f.clientId);
  await t.rejects(pushes.push(client, AUTH_REQUEST), { code: "invalid_request", description: "the client of this request no longer exists" });
  t.equal(await f.app.services.db.pushedAuthorizationRequest.count(), 0, "nothing stored");
});

t.test("the store: only a deleted client reads as false; any other failure (a digest stored twice) is thrown", async (t) => {
  const f = await authorizeFixture(t);
  const repo = new PushedAuthorizationRequestRepository(f.app.services.db);
  const request = { digest: sha256("twice"), clientId: f.clientId, parameters: AUTH_REQUEST, expiresAt: new Date(f.app.services.clock.now() + 60_000) };
  t.equal(await repo.insert(request), true);
  await t.rejects(repo.insert(request), { code: /^(SQLITE_CONSTRAINT_PRIMARYKEY|23505)$/ });
  t.equal(await repo.insert({ ...request, digest: sha256("orphan"), clientId: "nobody" }), false);
  t.equal(await f.app.services.db.pushedAuthorizationRequest.count(), 1);
});

t.test("a database failure while using the request_uri: 500 server_error, not an error page blaming the request", async (t) => {
  const f = await authorizeFixture(t);
  const requestUri = await pushed(f);
  // A failure that is neither the request's fault nor an outage (server-error.test.ts): the table is gone.
  await f.app.services.db.$executeRawUnsafe(`ALTER TABLE "PushedAuthorizationRequest" RENAME TO "PushedAuthorizationRequestMoved"`);
  const res = await useUri(f, { client_id: f.clientId, request_uri: requestUri });
  t.equal(res.statusCode, 500);
  t.equal(res.headers.location, undefined, "no redirect");
  t.same(res.json(), { error: "server_error", error_description: "the server could not complete the request" });
});
