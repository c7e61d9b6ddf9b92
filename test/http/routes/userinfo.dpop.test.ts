// /userinfo with DPoP-bound access tokens (RFC 9449 §7): `Authorization: DPoP <token>` and a proof
// for this request (htm GET or POST, htu ${issuer}/userinfo) and this token (ath), by the key the token
// is bound to; the bound token as Bearer is invalid_token (§7.2); proof failures are 401 with a DPoP
// challenge (§7.1); with DPOP_NONCE=on a proof without the nonce is use_dpop_nonce with DPoP-Nonce (§9).
import t, { type Test } from "tap";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { DPOP_SIGNING_ALGS } from "../../../src/crypto/dpop.js";
import { signAccessToken } from "../../../src/domain/tokens/access-token.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { issueCode } from "../../helpers/code-flow.js";
import { ath, dpopKey, dpopProof, type DpopKeyPair } from "../../helpers/dpop.js";
import { FORM } from "../../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const HTU = `${ISSUER}/userinfo`;
const API = "https://api.example.test";
const ALGS = `algs="${DPOP_SIGNING_ALGS.join(" ")}"`;

/** An app with a user and a code-flow client, and a way to get alice's access token bound to a key. */
async function setUp(t: Test, env: Record<string, string> = {}) {
  const { app, clock, createClient } = await buildTestApp(t, env);
  const rp = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://app.example.test/cb"], scopes: ["openid", "profile"], audiences: [API] });
  const alice = await app.services.users.create("alice", "alice-password-1", "test", { name: "Alice Liddell" });
  // Signed as /token signs a DPoP-bound token (access-token.ts: cnf.jkt), without going through /token.
  const token = async (jkt: string | null, scope = ["openid", "profile"]) =>
    (await signAccessToken(app.services, { grantType: "authorization_code", subject: alice.id, client: app.services.clients.get(rp.clientId)!, scope, audience: API, jkt })).response.access_token;
  const now = () => clock.now() / 1000;
  return { app, alice, rp, token, now };
}

function expectDpopError(t: Test, res: LightMyRequestResponse, status: number, error: string, description?: string) {
  t.equal(res.statusCode, status, `status (${res.body})`);
  t.equal(res.headers["www-authenticate"], `DPoP realm="tessera", error="${error}", ${ALGS}`, "a DPoP challenge");
  t.equal(res.headers["cache-control"], "no-store");
  t.equal(res.json().error, error);
  if (description !== undefined) t.equal(res.json().error_description, description);
}

const call = (app: FastifyInstance, method: "GET" | "POST", headers: Record<string, string>) => app.inject({ method, url: "/userinfo", headers });

t.test("a DPoP-bound token with DPoP and a good proof: the claims, by GET and POST", async (t) => {
  const { app, alice, token, now } = await setUp(t);
  const key = await dpopKey();
  const bound = await token(key.jkt);
  for (const method of ["GET", "POST"] as const) {
    const res = await call(app, method, { authorization: `DPoP ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: method, htu: HTU, ath: ath(bound) }) });
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json(), { sub: alice.id, name: "Alice Liddell", preferred_username: "alice" });
    t.notOk(res.headers["dpop-nonce"], "no nonce when DPOP_NONCE is off");
  }
  const lower = await call(app, "GET", { authorization: `dpop ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(bound) }) });
  t.equal(lower.statusCode, 200, "the scheme is case-insensitive");
});

t.test("the bound token as a Bearer token: 401 invalid_token with a Bearer challenge (§7.2)", async (t) => {
  const { app, token, now } = await setUp(t);
  const key = await dpopKey();
  const bound = await token(key.jkt);
  const res = await call(app, "GET", { authorization: `Bearer ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(bound) }) });
  t.equal(res.statusCode, 401);
  t.equal(res.headers["www-authenticate"], 'Bearer realm="tessera", error="invalid_token"');
  t.same(res.json(), { error: "invalid_token", error_description: "the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof" });
  const form = await app.inject({ method: "POST", url: "/userinfo", headers: FORM, payload: `access_token=${bound}` });
  t.equal(form.statusCode, 401, "nor in a form body");
  t.equal(form.json().error, "invalid_token");
});

t.test("invalid proofs: 401 invalid_dpop_proof with a DPoP challenge (§7.1)", async (t) => {
  const { app, token, now } = await setUp(t);
  const key = await dpopKey();
  const bound = await token(key.jkt);
  const get = (dpop?: string) => call(app, "GET", { authorization: `DPoP ${bound}`, ...(dpop !== undefined && { dpop }) });
  const good = { htm: "GET", htu: HTU, ath: ath(bound) };
  expectDpopError(t, await get(), 401, "invalid_dpop_proof", "the DPoP scheme needs a DPoP proof (the DPoP header)");
  expectDpopError(t, await get(await dpopProof(key, { nowSeconds: now(), ...good, htm: "POST" })), 401, "invalid_dpop_proof");
  expectDpopError(t, await get(await dpopProof(key, { nowSeconds: now(), ...good, htu: `${ISSUER}/token` })), 401, "invalid_dpop_proof");
  expectDpopError(t, await get(await dpopProof(key, { nowSeconds: now(), ...good, ath: undefined })), 401, "invalid_dpop_proof");
  expectDpopError(t, await get(await dpopProof(key, { nowSeconds: now(), ...good, ath: ath(await token(key.jkt)) })), 401, "invalid_dpop_proof");
  expectDpopError(t, await get(await dpopProof(key, { nowSeconds: now() - 3600, ...good })), 401, "invalid_dpop_proof");
  expectDpopError(t, await get(await dpopProof(key, { nowSeconds: now(), ...good }, { typ: "JWT" })), 401, "invalid_dpop_proof");
  const stranger = await dpopKey();
  expectDpopError(t, await get(await dpopProof(stranger, { nowSeconds: now(), ...good })), 401, "invalid_dpop_proof", "the DPoP proof is not signed by the key the access token is bound to");
  const once = await dpopProof(key, { nowSeconds: now(), ...good });
  t.equal((await get(once)).statusCode, 200);
  expectDpopError(t, await get(once), 401, "invalid_dpop_proof", "DPoP proof was used before");
  const twice = await app.inject({ method: "GET", url: "/userinfo", headers: { authorization: `DPoP ${bound}`, dpop: [once, once] as unknown as string } });
  expectDpopError(t, twice, 401, "invalid_dpop_proof", "more than one DPoP header");
});

t.test("token failures with the DPoP scheme: 401 invalid_token, 403 insufficient_scope, with DPoP challenges", async (t) => {
  const { app, token, now } = await setUp(t);
  const key: DpopKeyPair = await dpopKey();
  const withProof = async (accessToken: string) =>
    call(app, "GET", { authorization: `DPoP ${accessToken}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(accessToken) }) });
  const unbound = await token(null);
  expectDpopError(t, await withProof(unbound), 401, "invalid_token", "the access token is not DPoP-bound: present it as a Bearer token");
  t.equal((await call(app, "GET", { authorization: `Bearer ${unbound}` })).statusCode, 200, "as Bearer it works");
  expectDpopError(t, await withProof("not-a-jwt"), 401, "invalid_token", "the access token is invalid, expired or revoked");
  const noOpenid = await withProof(await token(key.jkt, ["profile"]));
  t.equal(noOpenid.statusCode, 403);
  t.equal(noOpenid.headers["www-authenticate"], `DPoP realm="tessera", error="insufficient_scope", scope="openid", ${ALGS}`);
  const malformed = await call(app, "GET", { authorization: "DPoP a b" });
  t.equal(malformed.statusCode, 400);
  t.equal(malformed.headers["www-authenticate"], `DPoP realm="tessera", error="invalid_request", ${ALGS}`);
  const both = await app.inject({ method: "POST", url: "/userinfo", headers: { ...FORM, authorization: `DPoP ${unbound}` }, payload: `access_token=${unbound}` });
  t.equal(both.statusCode, 400, "the token twice (header and form)");
  t.equal(both.json().error, "invalid_request");
});

t.test("DPOP_NONCE=on: a proof without the nonce is use_dpop_nonce with DPoP-Nonce; with it, 200 and the next nonce (§9)", async (t) => {
  const { app, alice, token, now } = await setUp(t, { DPOP_NONCE: "on" });
  const key = await dpopKey();
  const bound = await token(key.jkt);
  const first = await call(app, "GET", { authorization: `DPoP ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(bound) }) });
  expectDpopError(t, first, 401, "use_dpop_nonce");
  const nonce = first.headers["dpop-nonce"];
  t.equal(nonce, app.services.dpop.nonce(), "the DPoP-Nonce header carries the current nonce");
  const stale = await call(app, "GET", { authorization: `DPoP ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(bound), nonce: "stale" }) });
  expectDpopError(t, stale, 401, "use_dpop_nonce");
  const res = await call(app, "GET", { authorization: `DPoP ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(bound), nonce: String(nonce) }) });
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json(), { sub: alice.id, name: "Alice Liddell", preferred_username: "alice" });
  t.equal(res.headers["dpop-nonce"], nonce, "the answer carries the nonce to use next");
  const bearer = await call(app, "GET", { authorization: `Bearer ${await token(null)}` });
  t.equal(bearer.statusCode, 200);
  t.notOk(bearer.headers["dpop-nonce"], "a Bearer request gets none");
});

t.test("end to end: a code exchanged at /token with a proof, then /userinfo with a proof of the same key", async (t) => {
  const { app, alice, rp, now } = await setUp(t);
  const key = await dpopKey();
  const issued = await issueCode(app, alice.id, rp.clientId, { redirectUri: "https://app.example.test/cb", audience: [API], scope: ["openid", "profile"] });
  const exchanged = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(rp.clientId, rp.clientSecret), dpop: await dpopProof(key, { nowSeconds: now(), htu: `${ISSUER}/token` }) },
    payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: "https://app.example.test/cb" }),
  });
  t.equal(exchanged.statusCode, 200, exchanged.body);
  const { access_token: accessToken, token_type: tokenType } = exchanged.json() as { access_token: string; token_type: string };
  t.equal(tokenType, "DPoP");
  const res = await call(app, "GET", { authorization: `DPoP ${accessToken}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(accessToken) }) });
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json(), { sub: alice.id, name: "Alice Liddell", preferred_username: "alice" });
  t.equal((await call(app, "GET", { authorization: `Bearer ${accessToken}` })).statusCode, 401, "not as a bearer token");
});

t.test("a failure that is not a refused proof (the replay store's, say) stays a server error, never a 401", async (t) => {
  const { app, token, now } = await setUp(t);
  const key = await dpopKey();
  const bound = await token(key.jkt);
  // On PostgreSQL the replay store is a table, and test/storage/database-outage.test.ts takes the
  // database away; here the check itself fails, whatever the database.
  const dpop = app.services.dpop;
  const check = dpop.check;
  dpop.check = async () => {
    dpop.check = check;
    throw new Error("the replay store failed");
  };
  const res = await call(app, "GET", { authorization: `DPoP ${bound}`, dpop: await dpopProof(key, { nowSeconds: now(), htm: "GET", htu: HTU, ath: ath(bound) }) });
  t.equal(res.statusCode, 500, res.body);
  t.strictSame(res.json(), { error: "server_error", error_description: "the server could not complete the request" });
  t.notOk(res.headers["www-authenticate"], "no DPoP challenge: the proof was not refused");
  t.equal(dpop.check, check, "the check ran once");
});
