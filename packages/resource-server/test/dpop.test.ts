// DPoP at the resource server (RFC 9449 §4.3, §7): a token bound to a key (cnf.jkt) is accepted only
// with the DPoP scheme and a proof by that key for this request and token, used once; a bound token
// sent as Bearer, or an unbound one sent as DPoP, is invalid_token. Each check of §4.3 that applies
// to a resource server has a case here, through createVerifier and through the plugin.
import { createHash, randomUUID } from "node:crypto";
import t, { type Test } from "tap";
import Fastify from "fastify";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import resourceServer, { AccessTokenError, createVerifier, DEFAULT_DPOP_ALGORITHMS } from "../src/index.js";
import { ReplayCache } from "../src/dpop.js";
import { AUDIENCE, startIssuer } from "./helpers/issuer.js";

const URL_ = "https://api.example.test/things";
const ath = (token: string) => createHash("sha256").update(token).digest("base64url");
const nowSeconds = () => Math.floor(Date.now() / 1000);

type Holder = { privateKey: CryptoKey; jwk: JWK; jkt: string };

async function holder(alg = "ES256"): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

type ProofOptions = { htm?: string; htu?: string; token?: string; iat?: number; jti?: string; typ?: string; alg?: string; jwk?: JWK; claims?: Record<string, unknown> };

/** A DPoP proof by `key` (RFC 9449 §4.2); each option breaks one part of it. */
async function proof(key: Holder, o: ProofOptions = {}): Promise<string> {
  return new SignJWT({ jti: o.jti ?? randomUUID(), htm: o.htm ?? "GET", htu: o.htu ?? URL_, iat: o.iat ?? nowSeconds(), ...(o.token !== undefined && { ath: ath(o.token) }), ...o.claims })
    .setProtectedHeader({ alg: o.alg ?? "ES256", typ: o.typ ?? "dpop+jwt", jwk: o.jwk ?? key.jwk })
    .sign(key.privateKey);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const refusedWith = async (t: Test, promise: Promise<unknown>, code: string, message: string) => {
  const error = await rejection(promise);
  t.ok(error instanceof AccessTokenError, `refused: ${message}`);
  t.match(error, { code, status: 401, message });
};

t.test("createVerifier: a DPoP-bound token and its proof", async (t) => {
  const issuer = await startIssuer(t);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
  const key = await holder();
  const token = await issuer.sign({ cnf: { jkt: key.jkt } });
  const verify = async (p: string | undefined, method = "GET", url = URL_, accessToken = token) => verifier.verify(accessToken, { dpop: { proof: p, method, url } });
  const badProof = (t: Test, p: Promise<unknown>, message: string) => refusedWith(t, p, "invalid_dpop_proof", message);

  t.test("a valid proof: the claims, cnf included", async (t) => {
    const claims = await verify(await proof(key, { token }));
    t.same(claims.cnf, { jkt: key.jkt });
    t.same(verifier.dpopAlgorithms, DEFAULT_DPOP_ALGORITHMS);
  });

  t.test("htu: query and fragment ignored, scheme and host case and the default port normalised (§4.3 check 9)", async (t) => {
    t.ok(await verify(await proof(key, { token, htu: "HTTPS://API.example.test:443/things" }), "GET", `${URL_}?page=2#top`));
    await badProof(t, verify(await proof(key, { token, htu: "https://api.example.test/other" })), "the DPoP proof's htu is not this request's URL");
    await badProof(t, verify(await proof(key, { token, htu: "http://api.example.test/things" })), "the DPoP proof's htu is not this request's URL");
    await badProof(t, verify(await proof(key, { token, claims: { htu: 42 } })), "the DPoP proof's htu is not this request's URL");
    await badProof(t, verify(await proof(key, { token, htu: "not a URL" })), "the DPoP proof's htu is not this request's URL");
  });

  t.test("htm must be the request's method (§4.3 check 8)", async (t) => {
    await badProof(t, verify(await proof(key, { token, htm: "POST" })), "the DPoP proof's htm is not this request's method");
    await badProof(t, verify(await proof(key, { token, htm: "get" })), "the DPoP proof's htm is not this request's method");
    t.ok(await verify(await proof(key, { token, htm: "POST" }), "POST"));
  });

  t.test("ath must be the hash of this token (§4.3 check 12, §7)", async (t) => {
    const other = await issuer.sign({ cnf: { jkt: key.jkt } });
    await badProof(t, verify(await proof(key)), "the DPoP proof's ath is not the hash of this access token"); // none at all
    await badProof(t, verify(await proof(key, { token: other })), "the DPoP proof's ath is not the hash of this access token");
  });

  t.test("signed by the key the token is bound to (§4.3 check 12)", async (t) => {
    const stranger = await holder();
    await badProof(t, verify(await proof(stranger, { token })), "the DPoP proof is not signed by the key the token is bound to");
    await badProof(t, verify(await proof(stranger, { token, jwk: key.jwk })), "the DPoP proof's signature is invalid");
  });

  t.test("typ dpop+jwt, an accepted asymmetric alg, a public jwk (§4.3 checks 4-7)", async (t) => {
    await badProof(t, verify(await proof(key, { token, typ: "JWT" })), "the DPoP proof's typ is not dpop+jwt");
    const rsa = await holder("PS256");
    const rsaToken = await issuer.sign({ cnf: { jkt: rsa.jkt } });
    t.ok(await verify(await proof(rsa, { token: rsaToken, alg: "PS256" }), "GET", URL_, rsaToken), "PS256 accepted by default");
    const onlyEs = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, dpopAlgorithms: ["ES256", "HS256"] });
    t.same(onlyEs.dpopAlgorithms, ["ES256"], "HMAC is never accepted");
    await badProof(t, onlyEs.verify(rsaToken, { dpop: { proof: await proof(rsa, { token: rsaToken, alg: "PS256" }), method: "GET", url: URL_ } }), "the DPoP proof's algorithm is not accepted");
    const hmac = await new SignJWT({ jti: randomUUID(), htm: "GET", htu: URL_, iat: nowSeconds(), ath: ath(token) })
      .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA" } as JWK })
      .sign(new TextEncoder().encode("secret-secret-secret-secret-secret"));
    await badProof(t, verify(hmac), "the DPoP proof's algorithm is not accepted");
    const privateJwk = await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey);
    await badProof(t, verify(await proof(key, { token, jwk: privateJwk })), "the DPoP proof is malformed or its jwk is not a public key");
  });

  t.test("iat within the window: 60 s old at most, and not ahead beyond the tolerance (§4.3 check 11)", async (t) => {
    t.ok(await verify(await proof(key, { token, iat: nowSeconds() - 60 })));
    await badProof(t, verify(await proof(key, { token, iat: nowSeconds() - 70 })), "the DPoP proof is too old (iat)");
    await badProof(t, verify(await proof(key, { token, iat: nowSeconds() + 30 })), "the DPoP proof's iat is not within the accepted window");
  });

  t.test("a missing claim, a missing or malformed proof, two proofs (§4.3 checks 1-3)", async (t) => {
    await badProof(t, verify(undefined), "a DPoP proof is required (the DPoP header)");
    await badProof(t, verify("not-a-jws"), "the DPoP proof is not a single compact JWS");
    const one = await proof(key, { token });
    await badProof(t, verify(`${one}, ${one}`), "the DPoP proof is not a single compact JWS");
    await badProof(t, verify(await proof(key, { token, claims: { jti: undefined } })), "the DPoP proof's jti claim is missing or invalid");
    await badProof(t, verify(await proof(key, { token, claims: { htm: undefined } })), "the DPoP proof's htm claim is missing or invalid");
    await badProof(t, verify(await proof(key, { token, claims: { jti: "" } })), "the DPoP proof's jti is missing");
  });

  t.test("a proof is used once (§4.3 check 10; jti)", async (t) => {
    const once = await proof(key, { token });
    t.ok(await verify(once));
    await badProof(t, verify(once), "the DPoP proof has been used before");
    const failed = await proof(key, { token, htm: "POST" });
    await badProof(t, verify(failed), "the DPoP proof's htm is not this request's method");
    t.ok(await verify(failed, "POST"), "a refused proof is not remembered");
  });

  t.test("a bound token as a bearer token is invalid_token (§7.2); an unbound token with DPoP too", async (t) => {
    await refusedWith(t, verifier.verify(token), "invalid_token", "the token is DPoP-bound: send it with Authorization: DPoP and a DPoP proof");
    const bearer = await issuer.sign();
    await refusedWith(t, verify(await proof(key, { token: bearer }), "GET", URL_, bearer), "invalid_token", "the token is not DPoP-bound: send it with Authorization: Bearer");
    t.ok(await verifier.verify(bearer), "as Bearer it is fine");
  });

  t.test("the token is checked first: a bad token with a good proof is invalid_token", async (t) => {
    const expired = await issuer.sign({ cnf: { jkt: key.jkt }, exp: nowSeconds() - 60 });
    await refusedWith(t, verify(await proof(key, { token: expired }), "GET", URL_, expired), "invalid_token", "the token has expired");
  });
});

t.test("the replay cache forgets expired proofs and holds at most its size", async (t) => {
  let now = 1_000_000;
  const cache = new ReplayCache(3, () => now);
  t.equal(cache.firstUse("a", now + 1000), true);
  t.equal(cache.firstUse("a", now + 1000), false, "seen");
  t.equal(cache.firstUse("b", now + 5000), true);
  now += 2000;
  t.equal(cache.firstUse("a", now + 1000), true, "expired, so new again");
  t.equal(cache.firstUse("c", now + 1000), true);
  t.equal(cache.size, 3);
  t.equal(cache.firstUse("d", now + 1000), true);
  t.equal(cache.size, 3, "the oldest (b) went");
  t.equal(cache.firstUse("b", now + 1000), true, "b was dropped early");
  t.equal(cache.firstUse("c", now + 1000), false, "c is still there");
});

t.test("the plugin: the DPoP scheme, the proof for this request, the DPoP challenge", async (t) => {
  const issuer = await startIssuer(t);
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: issuer.issuer, audience: AUDIENCE, dpopAlgorithms: ["ES256", "EdDSA"] });
  api.get("/things", { preHandler: api.requireScopes("read") }, async (request) => ({ jkt: request.accessToken?.cnf?.jkt ?? null }));
  api.post("/things", { preHandler: api.requireScopes("write") }, async () => ({ created: true }));
  const key = await holder();
  const token = await issuer.sign({ cnf: { jkt: key.jkt } });
  const htu = "http://localhost:80/things"; // inject's Host is localhost:80
  const get = (headers: Record<string, string>, url = "/things") => api.inject({ method: "GET", url, headers });
  const ALGS = 'algs="ES256 EdDSA"';

  t.test("Authorization: DPoP with a good proof: 200, request.accessToken with cnf", async (t) => {
    const res = await get({ authorization: `DPoP ${token}`, dpop: await proof(key, { token, htu }) }, "/things?x=1");
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json(), { jkt: key.jkt });
    const lower = await get({ authorization: `dpop ${token}`, dpop: await proof(key, { token, htu }) });
    t.equal(lower.statusCode, 200, "the scheme is case-insensitive");
  });

  t.test("a bad proof: 401 invalid_dpop_proof with a DPoP challenge naming the algorithms (§7.1)", async (t) => {
    const res = await get({ authorization: `DPoP ${token}`, dpop: await proof(key, { token, htu: "http://localhost:80/elsewhere" }) });
    t.equal(res.statusCode, 401);
    t.equal(res.headers["www-authenticate"], `DPoP error="invalid_dpop_proof", error_description="the DPoP proof's htu is not this request's URL", ${ALGS}`);
    t.same(res.json(), { error: "invalid_dpop_proof", error_description: "the DPoP proof's htu is not this request's URL" });
    const two = await proof(key, { token, htu });
    const twice = await api.inject({ method: "GET", url: "/things", headers: { authorization: `DPoP ${token}`, dpop: [two, two] as unknown as string } });
    t.equal(twice.json().error_description, "the DPoP proof is not a single compact JWS", "two DPoP headers (RFC 9449 §4.3 check 1)");
    const none = await get({ authorization: `DPoP ${token}` });
    t.equal(none.headers["www-authenticate"], `DPoP error="invalid_dpop_proof", error_description="a DPoP proof is required (the DPoP header)", ${ALGS}`);
  });

  t.test("a replayed proof: 401 invalid_dpop_proof", async (t) => {
    const once = await proof(key, { token, htu });
    t.equal((await get({ authorization: `DPoP ${token}`, dpop: once })).statusCode, 200);
    const again = await get({ authorization: `DPoP ${token}`, dpop: once });
    t.equal(again.statusCode, 401);
    t.equal(again.json().error_description, "the DPoP proof has been used before");
  });

  t.test("the bound token as Bearer: 401 invalid_token with a Bearer challenge (§7.2)", async (t) => {
    const res = await get({ authorization: `Bearer ${token}`, dpop: await proof(key, { token, htu }) });
    t.equal(res.statusCode, 401);
    t.equal(res.headers["www-authenticate"], 'Bearer error="invalid_token", error_description="the token is DPoP-bound: send it with Authorization: DPoP and a DPoP proof"');
  });

  t.test("a bad token with DPoP: invalid_token with a DPoP challenge", async (t) => {
    const res = await get({ authorization: "DPoP not-a-jwt" });
    t.equal(res.statusCode, 401);
    t.equal(res.headers["www-authenticate"], `DPoP error="invalid_token", error_description="the token is malformed", ${ALGS}`);
    const malformed = await get({ authorization: "DPoP two tokens" });
    t.equal(malformed.headers["www-authenticate"], `DPoP error="invalid_token", error_description="the token is malformed", ${ALGS}`);
  });

  t.test("missing scope with DPoP: 403 insufficient_scope with a DPoP challenge", async (t) => {
    const res = await api.inject({ method: "POST", url: "/things", headers: { authorization: `DPoP ${token}`, dpop: await proof(key, { token, htu, htm: "POST" }) } });
    t.equal(res.statusCode, 403);
    t.equal(res.headers["www-authenticate"], `DPoP error="insufficient_scope", error_description="the token lacks scope write", scope="write", ${ALGS}`);
  });

  t.test("no credentials: a challenge for each scheme (§7.2)", async (t) => {
    const res = await get({});
    t.equal(res.statusCode, 401);
    t.equal(res.headers["www-authenticate"], `Bearer, DPoP ${ALGS}`);
  });
});

t.test("the plugin's publicUrl is the htu prefix; by default the request's protocol and Host", async (t) => {
  const issuer = await startIssuer(t);
  const key = await holder();
  const token = await issuer.sign({ cnf: { jkt: key.jkt } });

  const proxied = Fastify();
  t.teardown(() => proxied.close());
  await proxied.register(resourceServer, { issuer: issuer.issuer, audience: AUDIENCE, publicUrl: "https://api.example.test/v1/" });
  proxied.get("/things", async () => "ok");
  const atPrefix = await proxied.inject({ method: "GET", url: "/things", headers: { authorization: `DPoP ${token}`, dpop: await proof(key, { token, htu: "https://api.example.test/v1/things" }) } });
  t.equal(atPrefix.statusCode, 200, atPrefix.body);
  const atHost = await proxied.inject({ method: "GET", url: "/things", headers: { authorization: `DPoP ${token}`, dpop: await proof(key, { token, htu: "http://localhost:80/things" }) } });
  t.equal(atHost.statusCode, 401, "the Host is not used when publicUrl is set");

  const direct = Fastify();
  t.teardown(() => direct.close());
  await direct.register(resourceServer, { issuer: issuer.issuer, audience: AUDIENCE });
  direct.get("/things", async () => "ok");
  const byHost = await direct.inject({ method: "GET", url: "/things", headers: { host: "api.example.test:8443", authorization: `DPoP ${token}`, dpop: await proof(key, { token, htu: "http://api.example.test:8443/things" }) } });
  t.equal(byHost.statusCode, 200, byHost.body);
});
