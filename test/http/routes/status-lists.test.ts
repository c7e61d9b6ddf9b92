// Token Status List (draft-ietf-oauth-status-list): every access token names an entry of a list that
// GET /statuslists/:id serves as a signed `statuslist+jwt`; each way tessera ends an access token
// sets that entry to INVALID (1), which a resource server reads with nothing but the JWKS: verify the
// JWT, inflate `lst`, read bit idx (helpers/status-list.ts does exactly that, with jose).
import { gunzipSync } from "node:zlib";
import t from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { LIST_SIZE } from "../../../src/domain/tokens/status-index-allocator.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";
import { fetchStatusList, statusClaimOf, statusOf } from "../../helpers/status-list.js";

const ORIGIN = "https://app.example.test";
const API = "https://api.example.test";
type Creds = { clientId: string; clientSecret: string };

// CACHE_REFRESH of an hour: nothing changes behind the tests' backs; a "poll" is refresh() by hand.
const { app, config, clock, createClient } = await buildTestApp(t, { CORS_ORIGINS: ORIGIN, CACHE_REFRESH: "1h", STATUS_LIST_TTL: "30" });
const services = app.services;
const poll = () => services.statusLists!.refresh();

const svc = await createClient({ audiences: [API] });
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], audiences: [API] });
await services.users.create("alice", "alice-password-1");

const post = (url: string, creds: Creds, params: Record<string, string>): Promise<LightMyRequestResponse> =>
  app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

async function json(res: LightMyRequestResponse): Promise<Record<string, string>> {
  if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}: ${res.body}`);
  return res.json();
}
const accessToken = async (creds: Creds = svc, params: Record<string, string> = {}) =>
  (await json(await post("/token", creds, { grant_type: "client_credentials", ...params }))).access_token!;
const signIn = async () => json(await post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1" }));
const adminToken = await accessToken(admin, { scope: "admin" });

t.test("every access token names its entry: idx and the absolute URI of its list", async (t) => {
  const first = statusClaimOf(await accessToken());
  const second = statusClaimOf(await accessToken());
  t.equal(first.uri, "https://tessera.test/statuslists/0", "list 0, under the issuer");
  t.equal(second.uri, first.uri);
  t.equal(second.idx, first.idx + 1, "the next entry of the client's block");
  t.ok(Number.isInteger(first.idx) && first.idx >= 0 && first.idx < LIST_SIZE);
  const refreshed = statusClaimOf((await signIn()).access_token!);
  t.not(refreshed.idx, first.idx, "another client's tokens come from another block");
});

t.test("GET the list: a statuslist+jwt signed by the active key, cacheable within its ttl", async (t) => {
  const token = await accessToken();
  const { uri } = statusClaimOf(token);
  const res = await app.inject({ method: "GET", url: "/statuslists/0" });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["content-type"], "application/statuslist+jwt");
  t.equal(res.headers["cache-control"], "public, max-age=30", "max-age = ttl");
  t.match(res.headers.etag, /^"[A-Za-z0-9_-]{27}"$/, "a strong ETag");
  t.equal(res.headers.vary, "Accept-Encoding");
  t.equal(res.headers["content-encoding"], undefined, "not gzipped unless asked");
  const { payload, header, list } = await fetchStatusList(app, uri);
  t.same(header, { alg: "RS256", typ: "statuslist+jwt", kid: services.keys.signer!.kid });
  const now = Math.floor(clock.now() / 1000);
  t.match(payload, { iss: config.issuer, sub: uri, ttl: 30, status_list: { bits: 1, lst: String } });
  t.ok((payload.iat as number) <= now && (payload.exp as number) >= now + 3600 - 1, "signed for an hour from iat");
  t.equal(list.size, LIST_SIZE, "2^20 entries");
  t.equal(list.get(statusClaimOf(token).idx), 0, "VALID");
});

t.test("signed once per change, not per request", async (t) => {
  const a = await app.inject({ method: "GET", url: "/statuslists/0" });
  clock.advance(5);
  await poll();
  const b = await app.inject({ method: "GET", url: "/statuslists/0" });
  t.equal(b.body, a.body, "the same JWT while nothing changed");
  t.equal(b.headers.etag, a.headers.etag);
});

t.test("ETag: If-None-Match answers 304 without a body; a changed list has another ETag", async (t) => {
  const first = await app.inject({ method: "GET", url: "/statuslists/0" });
  const etag = first.headers.etag as string;
  const again = await app.inject({ method: "GET", url: "/statuslists/0", headers: { "if-none-match": etag } });
  t.equal(again.statusCode, 304);
  t.equal(again.body, "");
  t.equal(again.headers.etag, etag);
  t.equal(again.headers["content-type"], undefined);
  t.equal(again.headers["cache-control"], "public, max-age=30");
  t.equal((await app.inject({ method: "GET", url: "/statuslists/0", headers: { "if-none-match": `"other", ${etag}` } })).statusCode, 304);
  t.equal((await app.inject({ method: "GET", url: "/statuslists/0", headers: { "if-none-match": '"other"' } })).statusCode, 200);
  await post("/revoke", svc, { token: await accessToken() });
  const changed = await app.inject({ method: "GET", url: "/statuslists/0", headers: { "if-none-match": etag } });
  t.equal(changed.statusCode, 200, "a revocation changed the list");
  t.not(changed.headers.etag, etag);
});

t.test("gzip when accepted: the same JWT, smaller, with its own ETag", async (t) => {
  const plain = await app.inject({ method: "GET", url: "/statuslists/0" });
  const gz = await app.inject({ method: "GET", url: "/statuslists/0", headers: { "accept-encoding": "br, gzip;q=0.5" } });
  t.equal(gz.statusCode, 200);
  t.equal(gz.headers["content-encoding"], "gzip");
  t.equal(gz.headers["content-type"], "application/statuslist+jwt");
  t.equal(gunzipSync(gz.rawPayload).toString(), plain.body);
  t.not(gz.headers.etag, plain.headers.etag, "one strong ETag per encoding");
  const notModified = await app.inject({ method: "GET", url: "/statuslists/0", headers: { "accept-encoding": "gzip", "if-none-match": gz.headers.etag as string } });
  t.equal(notModified.statusCode, 304);
  const refused = await app.inject({ method: "GET", url: "/statuslists/0", headers: { "accept-encoding": "gzip;q=0, identity" } });
  t.equal(refused.headers["content-encoding"], undefined, "q=0 refuses gzip");
  t.equal(refused.body, plain.body);
});

t.test("CORS: a listed origin may GET the list (and read its ETag)", async (t) => {
  const res = await app.inject({ method: "GET", url: "/statuslists/0", headers: { origin: ORIGIN } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["access-control-allow-origin"], ORIGIN);
  t.equal(res.headers["access-control-expose-headers"], "ETag");
  const preflight = await app.inject({
    method: "OPTIONS",
    url: "/statuslists/0",
    headers: { origin: ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "if-none-match" },
  });
  t.equal(preflight.statusCode, 204);
  t.equal(preflight.headers["access-control-allow-methods"], "GET");
  t.equal(preflight.headers["access-control-allow-headers"], "If-None-Match");
  const other = await app.inject({ method: "GET", url: "/statuslists/0", headers: { origin: "https://evil.example" } });
  t.equal(other.headers["access-control-allow-origin"], undefined, "an unlisted origin gets no CORS headers");
});

t.test("an unknown list is a 404, a malformed id a 400, both as JSON errors", async (t) => {
  const unknown = await app.inject({ method: "GET", url: "/statuslists/7" });
  expectOAuthError(t, unknown, 404, "invalid_request");
  t.equal(unknown.json().error_description, "no such status list");
  expectOAuthError(t, await app.inject({ method: "GET", url: "/statuslists/4096" }), 404, "invalid_request");
  expectOAuthError(t, await app.inject({ method: "GET", url: "/statuslists/abc" }), 400, "invalid_request");
  expectOAuthError(t, await app.inject({ method: "GET", url: "/statuslists/01" }), 400, "invalid_request");
});

t.test("RFC 7009 revocation of an access token sets its entry INVALID, and only its entry", async (t) => {
  const revoked = await accessToken();
  const kept = await accessToken();
  t.equal(await statusOf(app, revoked), 0);
  t.equal((await post("/revoke", svc, { token: revoked })).statusCode, 200);
  t.equal(await statusOf(app, revoked), 1, "INVALID at once on this instance");
  t.equal(await statusOf(app, kept), 0, "its neighbour stays VALID");
});

t.test("a revoked refresh family (RFC 7009) sets its access tokens INVALID", async (t) => {
  const pair = await signIn();
  const rotated = await json(await post("/token", web, { grant_type: "refresh_token", refresh_token: pair.refresh_token! }));
  t.equal((await post("/revoke", web, { token: rotated.refresh_token!, token_type_hint: "refresh_token" })).statusCode, 200);
  t.equal(await statusOf(app, pair.access_token!), 1, "the first access token");
  t.equal(await statusOf(app, rotated.access_token!), 1, "the rotated one");
});

t.test("refresh-token reuse detection sets the family's access tokens INVALID", async (t) => {
  const pair = await signIn();
  const rotated = await json(await post("/token", web, { grant_type: "refresh_token", refresh_token: pair.refresh_token! }));
  clock.advance(3); // past the concurrent-use window: presenting the old token again is theft
  t.equal((await post("/token", web, { grant_type: "refresh_token", refresh_token: pair.refresh_token! })).statusCode, 400);
  t.equal(await statusOf(app, rotated.access_token!), 1);
});

t.test("an admin revocation by token sets the entry INVALID", async (t) => {
  const token = await accessToken();
  const res = await app.inject({ method: "POST", url: "/admin/tokens/revoke", headers: { authorization: `Bearer ${adminToken}` }, payload: { token } });
  t.equal(res.statusCode, 200);
  t.equal(await statusOf(app, token), 1);
});

t.test("a password change and ended sessions set the user's access tokens INVALID (on the next poll)", async (t) => {
  const before = await signIn();
  await services.users.setPassword("alice", "alice-password-2");
  await poll(); // what the CACHE_REFRESH poller runs: the change counter moved
  t.equal(await statusOf(app, before.access_token!), 1, "password change");
  await services.users.setPassword("alice", "alice-password-1");
  const again = await signIn();
  const alice = await services.users.byUsername("alice");
  await services.users.endSessions(alice.id);
  await poll();
  t.equal(await statusOf(app, again.access_token!), 1, "sessions ended by an administrator");
});

t.test("a disabled or deleted client's tokens read INVALID; other clients' stay VALID", async (t) => {
  const doomed = await createClient({ audiences: [API] });
  const gone = await createClient({ audiences: [API] });
  const tokens = [await accessToken(doomed), await accessToken(doomed)];
  const goneToken = await accessToken(gone);
  const bystander = await accessToken();
  await services.clientAdmin.disable(doomed.clientId);
  await services.clientAdmin.delete(gone.clientId);
  for (const token of tokens) t.equal(await statusOf(app, token), 1, "disabled client");
  t.equal(await statusOf(app, goneToken), 1, "deleted client");
  t.equal(await statusOf(app, bystander), 0);
  await services.clientAdmin.update(doomed.clientId, { enabled: true });
  const fresh = await accessToken(doomed);
  t.not(statusClaimOf(fresh).idx, statusClaimOf(tokens[1]!).idx + 1, "re-enabled: a new block, not the invalidated one");
  t.equal(await statusOf(app, fresh), 0, "its new tokens are VALID");
  t.equal(await statusOf(app, tokens[0]!), 1, "its old ones stay INVALID");
});

t.test("a revoked entry clears once its token has expired", async (t) => {
  const token = await accessToken();
  await post("/revoke", svc, { token });
  t.equal(await statusOf(app, token), 1);
  clock.advance(config.accessTokenTtlSeconds + 1);
  await poll(); // no counter moved: the expiry alone makes it rebuild
  const { idx, uri } = statusClaimOf(token);
  t.equal((await fetchStatusList(app, uri)).list.get(idx), 0);
  t.equal(decodeJwt(token).exp! < Math.floor(clock.now() / 1000), true, "the token itself has expired");
});

t.test("STATUS_LIST=off: no status claim, no list endpoint", async (t) => {
  const off = await buildTestApp(t, { STATUS_LIST: "off" });
  const client = await off.createClient();
  const res = await off.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(client.clientId, client.clientSecret) }, payload: form({ grant_type: "client_credentials" }) });
  t.equal(res.statusCode, 200);
  t.equal(decodeJwt(res.json().access_token).status, undefined);
  expectOAuthError(t, await off.app.inject({ method: "GET", url: "/statuslists/0" }), 404, "invalid_request");
});
