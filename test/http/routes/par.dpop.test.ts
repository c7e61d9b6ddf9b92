// A DPoP proof with a pushed authorization request (RFC 9449 §10.1): checked as at /token (htu is the
// PAR endpoint's URL), its key binds the request as dpop_jkt would, a dpop_jkt sent too must name the
// same key, and with DPOP_NONCE=on the proof needs the server's nonce (use_dpop_nonce, DPoP-Nonce).
import t from "tap";
import { sha256 } from "../../../src/crypto/secrets.js";
import { basic, form } from "../../helpers/app.js";
import { authorizeFixture, CHALLENGE, CookieJar, locationParams, REDIRECT_URI, type AuthorizeFixture } from "../../helpers/authorize.js";
import { dpopKey, dpopProof, type DpopKeyPair } from "../../helpers/dpop.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const PAR_URL = "https://tessera.test/par";
const AUTH_REQUEST = { response_type: "code", redirect_uri: REDIRECT_URI, state: "xyz", scope: "read", code_challenge: CHALLENGE, code_challenge_method: "S256" };
const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:([A-Za-z0-9_-]{43})$/;

const push = (f: AuthorizeFixture, proof: string | undefined, params: Record<string, string> = {}) =>
  f.app.inject({
    method: "POST",
    url: "/par",
    headers: { ...FORM, authorization: basic(f.clientId, f.clientSecret), ...(proof !== undefined && { dpop: proof }) },
    payload: form({ ...AUTH_REQUEST, ...params }),
  });

const proofFor = (f: AuthorizeFixture, key: DpopKeyPair, claims: Record<string, string> = {}) => dpopProof(key, { htu: PAR_URL, nowSeconds: Math.floor(f.clock.now() / 1000), ...claims });

async function storedParameters(f: AuthorizeFixture, requestUri: string): Promise<Record<string, string>> {
  const row = await f.app.services.db.pushedAuthorizationRequest.findUnique({ where: { digest: sha256(REQUEST_URI.exec(requestUri)![1]!) } });
  return JSON.parse(row!.parameters) as Record<string, string>;
}

t.test("a proof binds the pushed request, and then the code, to its key", async (t) => {
  const f = await authorizeFixture(t, {}, { firstParty: true });
  const key = await dpopKey();
  const res = await push(f, await proofFor(f, key));
  t.equal(res.statusCode, 201, res.body);
  t.equal((await storedParameters(f, res.json().request_uri)).dpop_jkt, key.jkt);

  const jar = new CookieJar();
  const page = jar.take(await f.app.inject({ method: "GET", url: `/authorize?${form({ client_id: f.clientId, request_uri: res.json().request_uri })}` }));
  const done = await f.signIn(page, undefined, undefined, jar);
  t.equal(done.statusCode, 303);
  t.equal((await f.app.services.authorizationCodes.findByDigest(sha256(locationParams(done).code!)))!.dpopJkt, key.jkt, "the code is bound to the proof's key");
});

t.test("dpop_jkt with a proof: the same key is fine, another is invalid_dpop_proof", async (t) => {
  const f = await authorizeFixture(t);
  const key = await dpopKey();
  const same = await push(f, await proofFor(f, key), { dpop_jkt: key.jkt });
  t.equal(same.statusCode, 201, same.body);
  const other = await push(f, await proofFor(f, key), { dpop_jkt: (await dpopKey()).jkt });
  expectOAuthError(t, other, 400, "invalid_dpop_proof");
  t.equal(other.json().error_description, "dpop_jkt is not the thumbprint of the DPoP proof's key");
  t.equal((await push(f, undefined, { dpop_jkt: key.jkt })).statusCode, 201, "dpop_jkt alone (no proof) is taken as it is");
});

t.test("the proof is checked as at /token: htu must be the PAR endpoint, each proof once", async (t) => {
  const f = await authorizeFixture(t);
  const key = await dpopKey();
  expectOAuthError(t, await push(f, await proofFor(f, key, { htu: "https://tessera.test/token" })), 400, "invalid_dpop_proof");
  expectOAuthError(t, await push(f, "not a proof"), 400, "invalid_dpop_proof");
  const twice = await f.app.inject({
    method: "POST",
    url: "/par",
    headers: { ...FORM, authorization: basic(f.clientId, f.clientSecret), dpop: [await proofFor(f, key), await proofFor(f, key)] },
    payload: form(AUTH_REQUEST),
  });
  expectOAuthError(t, twice, 400, "invalid_dpop_proof");
  t.equal(twice.json().error_description, "more than one DPoP header");
  const once = await proofFor(f, key);
  t.equal((await push(f, once)).statusCode, 201);
  expectOAuthError(t, await push(f, once), 400, "invalid_dpop_proof");
  t.equal(await f.app.services.db.pushedAuthorizationRequest.count(), 1, "nothing stored for a refused proof");
});

t.test("DPOP_NONCE=on: use_dpop_nonce with DPoP-Nonce, then the proof with the nonce is taken", async (t) => {
  const f = await authorizeFixture(t, { DPOP_NONCE: "on" });
  const key = await dpopKey();
  const first = await push(f, await proofFor(f, key));
  expectOAuthError(t, first, 400, "use_dpop_nonce");
  const nonce = first.headers["dpop-nonce"] as string;
  t.type(nonce, "string", "the nonce to use");
  const second = await push(f, await proofFor(f, key, { nonce }));
  t.equal(second.statusCode, 201, second.body);
  t.equal(second.headers["dpop-nonce"], nonce, "every answer carries the current nonce");
  t.equal((await push(f, undefined)).statusCode, 201, "a request without a proof needs no nonce");
});
