// verifyDpopProof: each check of RFC 9449 §4.3 it makes, one test each, with proofs made by jose as a
// client makes them (test/helpers/dpop.ts). Every refusal is an InvalidDpopProof naming the check.
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import t, { type Test } from "tap";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { DPOP_SIGNING_ALGS, MAX_CHECKED_HEADERS, verifyDpopProof } from "../../src/crypto/dpop.js";
import { InvalidDpopProof } from "../../src/errors/oauth.js";
import { ath, dpopKey, dpopProof, unsignedJws, type DpopKeyPair } from "../helpers/dpop.js";

const NOW = 1_800_000_000;
const HTU = "https://tessera.test/token";
const EXPECT = { htm: "POST", htu: HTU };
const TIME = { nowSeconds: NOW, maxAgeSeconds: 60, skewSeconds: 5 };

const key = await dpopKey("ES256");
const proof = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, k: DpopKeyPair = key) =>
  dpopProof(k, { nowSeconds: NOW, htu: HTU, ...claims }, header);

/** verifyDpopProof must refuse, with invalid_dpop_proof and a description matching `why`. */
async function refused(t: Test, proofText: string | Promise<string>, why: RegExp, expect: Parameters<typeof verifyDpopProof>[1] = EXPECT, time = TIME) {
  const error = await verifyDpopProof(await proofText, expect, time).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(error instanceof InvalidDpopProof, "an InvalidDpopProof");
  t.match(error, { code: "invalid_dpop_proof", status: 400, description: why });
}

t.test("a good proof: its key's RFC 7638 thumbprint, jti, iat and nonce come back", async (t) => {
  const result = await verifyDpopProof(await proof({ jti: "j-1", nonce: "n-1" }), EXPECT, TIME);
  t.same(result, { jkt: key.jkt, jti: "j-1", iat: NOW, nonce: "n-1" });
  t.equal(result.jkt, await calculateJwkThumbprint(key.publicJwk, "sha256"), "what jose computes");
  t.equal((await verifyDpopProof(await proof(), EXPECT, TIME)).nonce, undefined, "no nonce: undefined");
});

for (const alg of ["ES256", "ES384", "ES512", "PS256", "PS384", "RS256", "RS512", "EdDSA"]) {
  t.test(`${alg}: a proof signed with it is accepted, with jose's thumbprint`, async (t) => {
    const k = await dpopKey(alg);
    const result = await verifyDpopProof(await proof({}, {}, k), EXPECT, TIME);
    t.equal(result.jkt, k.jkt);
  });
}

t.test("check 2: not a single well-formed compact JWS", async (t) => {
  const good = await proof();
  await refused(t, "", /not a single compact JWS/);
  await refused(t, "a.b", /not a single compact JWS/);
  await refused(t, `${good}.x`, /not a single compact JWS/);
  await refused(t, `${good}, ${await proof()}`, /not a single compact JWS/, EXPECT, TIME); // two headers, joined by a proxy
  await refused(t, `${good.split(".").slice(0, 2).join(".")}.`, /not a single compact JWS/, EXPECT, TIME); // no signature
  await refused(t, `${"a".repeat(9000)}.b.c`, /not a single compact JWS/);
  await refused(t, `bm90IGpzb24.${good.split(".")[1]}.c2ln`, /header is not base64url JSON/);
  await refused(t, unsignedJws([] as never, {}), /header is not a JSON object/);
  await refused(t, `${good.split(".")[0]}.bm90IGpzb24.c2ln`, /payload is not base64url JSON/);
});

t.test("check 4: typ must be dpop+jwt", async (t) => {
  await refused(t, proof({}, { typ: "JWT" }), /typ must be dpop\+jwt/);
  await refused(t, proof({}, { typ: undefined }), /typ must be dpop\+jwt/);
  await refused(t, proof({}, { typ: "at+jwt" }), /typ must be dpop\+jwt/);
});

t.test("check 5: alg none and HMAC algs are refused, and any alg not on the list", async (t) => {
  const claims = { htm: "POST", htu: HTU, iat: NOW, jti: "x" };
  await refused(t, unsignedJws({ alg: "none", typ: "dpop+jwt", jwk: key.publicJwk }, claims), /alg must be one of/);
  const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: "c2VjcmV0" } } as never).sign(new TextEncoder().encode("a shared secret of 32 bytes!!!!!"));
  await refused(t, hs, /alg must be one of/);
  await refused(t, unsignedJws({ alg: "ES256K", typ: "dpop+jwt", jwk: key.publicJwk }, claims), /alg must be one of/);
  await refused(t, unsignedJws({ typ: "dpop+jwt", jwk: key.publicJwk }, claims), /alg must be one of/);
  t.notOk((DPOP_SIGNING_ALGS as readonly string[]).some((alg) => alg === "none" || alg.startsWith("HS")), "the advertised list has none of them");
});

t.test("a crit header is refused: no extension is understood", async (t) => {
  await refused(t, unsignedJws({ alg: "ES256", typ: "dpop+jwt", jwk: key.publicJwk, crit: ["exp"], exp: 1 }, { htm: "POST", htu: HTU, iat: NOW, jti: "x" }), /crit/);
});

t.test("check 7: the jwk header must be there and be a public key", async (t) => {
  await refused(t, proof({}, { jwk: undefined }), /has no jwk header/);
  await refused(t, proof({}, { jwk: "a string" }), /has no jwk header/);
  // Signed by the key whose private JWK it carries: the signature verifies, the proof must not.
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const withPrivate = await new SignJWT({ htm: "POST", htu: HTU, iat: NOW, jti: "x" }).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: privateJwk } as never).sign(privateKey);
  await refused(t, withPrivate, /must be a public key/);
  await refused(t, proof({}, { jwk: { ...key.publicJwk, k: "c2VjcmV0" } }), /must be a public key/);
  await refused(t, proof({}, { jwk: { kty: "oct", x: "eA" } }), /kty must be EC, RSA or OKP/);
  await refused(t, proof({}, { jwk: { kty: "EC", crv: "P-256", x: key.publicJwk.x } }), /lacks a member/);
  await refused(t, proof({}, { jwk: { ...key.publicJwk, x: "AAAA" } }), /not a valid public key/);
});

/** A proof signed with node:crypto, which (unlike jose) signs with a key that does not fit the alg. */
function nodeSigned(alg: string, digest: string | null, privateKey: KeyObject, options: object = {}) {
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  const input = unsignedJws({ alg, typ: "dpop+jwt", jwk }, { htm: "POST", htu: HTU, iat: NOW, jti: "x" }).split(".").slice(0, 2).join(".");
  return `${input}.${sign(digest, Buffer.from(input), { key: privateKey, ...options }).toString("base64url")}`;
}

t.test("check 5/7: the jwk must be a key for the alg (curve, type, RSA size)", async (t) => {
  const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
  await refused(t, nodeSigned("ES256", "sha256", p384, { dsaEncoding: "ieee-p1363" }), /not a key for ES256/);
  const ed448 = generateKeyPairSync("ed448").privateKey;
  await refused(t, nodeSigned("Ed25519", null, ed448), /not a key for Ed25519/);
  t.ok(await verifyDpopProof(nodeSigned("EdDSA", null, ed448), EXPECT, TIME), "EdDSA takes Ed448");
  const ed25519 = generateKeyPairSync("ed25519").privateKey;
  t.ok(await verifyDpopProof(nodeSigned("Ed25519", null, ed25519), EXPECT, TIME), "Ed25519 (RFC 9864) takes Ed25519");
  const edJwk = createPublicKey(ed25519).export({ format: "jwk" });
  await refused(t, unsignedJws({ alg: "ES256", typ: "dpop+jwt", jwk: edJwk }, { htm: "POST", htu: HTU, iat: NOW, jti: "x" }), /not a key for ES256/);
  const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
  await refused(t, nodeSigned("RS256", "sha256", rsa1024), /not a key for RS256/);
  t.ok(await verifyDpopProof(nodeSigned("RS256", "sha256", generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey), EXPECT, TIME), "2048 bits are fine");
});

t.test("check 6: the signature must verify with the jwk of the header", async (t) => {
  const other = await dpopKey("ES256");
  await refused(t, proof({}, { jwk: other.publicJwk }), /signature does not verify/);
  const [header, , signature] = (await proof()).split(".");
  const changed = Buffer.from(JSON.stringify({ htm: "POST", htu: HTU, iat: NOW, jti: "changed" })).toString("base64url");
  await refused(t, `${header}.${changed}.${signature}`, /signature does not verify/);
  await refused(t, `${header}.${changed}.AAAA`, /signature does not verify/, EXPECT, TIME); // of the wrong length
});

t.test("check 3: jti, iat (and nonce, when there) must have their types; jti is bounded", async (t) => {
  await refused(t, proof({ jti: undefined }), /jti must be a string/);
  await refused(t, proof({ jti: "" }), /jti must be a string/);
  await refused(t, proof({ jti: 7 }), /jti must be a string/);
  await refused(t, proof({ jti: "j".repeat(257) }), /jti must be a string/);
  t.ok(await verifyDpopProof(await proof({ jti: "j".repeat(256) }), EXPECT, TIME), "256 characters are fine");
  await refused(t, proof({ iat: undefined }), /iat must be a number/);
  await refused(t, proof({ iat: String(NOW) }), /iat must be a number/);
  await refused(t, proof({ nonce: 5 }), /nonce must be a string/);
});

t.test("check 8: htm must be the request's method, exactly", async (t) => {
  await refused(t, proof({ htm: "GET" }), /htm must be POST/);
  await refused(t, proof({ htm: "post" }), /htm must be POST/);
  await refused(t, proof({ htm: undefined }), /htm must be POST/);
  t.ok(await verifyDpopProof(await proof({ htm: "GET" }), { htm: "GET", htu: HTU }, TIME), "GET for GET");
});

t.test("check 9: htu must be the request's URI, ignoring query and fragment, after normalisation", async (t) => {
  await refused(t, proof({ htu: "https://tessera.test/userinfo" }), /htu must be https:\/\/tessera.test\/token/);
  await refused(t, proof({ htu: "http://tessera.test/token" }), /htu must be/);
  await refused(t, proof({ htu: "https://other.test/token" }), /htu must be/);
  await refused(t, proof({ htu: "https://tessera.test:8443/token" }), /htu must be/);
  await refused(t, proof({ htu: "https://tessera.test/token/" }), /htu must be/);
  await refused(t, proof({ htu: "not a uri" }), /htu must be/);
  await refused(t, proof({ htu: "urn:x:tessera.test/token" }), /htu must be/);
  await refused(t, proof({ htu: undefined }), /htu must be/);
  await refused(t, proof({ htu: HTU }), /htu must be nope/, { htm: "POST", htu: "nope" }); // our own URI is checked too
  for (const htu of ["https://tessera.test/token?a=1", "https://tessera.test/token#f", "HTTPS://Tessera.TEST/token", "https://tessera.test:443/token", "https://tessera.test/x/../token"]) {
    t.ok(await verifyDpopProof(await proof({ htu }), EXPECT, TIME), `${htu} is the token endpoint`);
  }
});

t.test("check 11: iat within [now - maxAge - skew, now + skew]", async (t) => {
  const oldest = NOW - 60 - 5;
  t.ok(await verifyDpopProof(await proof({ iat: oldest }), EXPECT, TIME), "the oldest accepted");
  await refused(t, proof({ iat: oldest - 1 }), /too old/);
  t.ok(await verifyDpopProof(await proof({ iat: NOW + 5 }), EXPECT, TIME), "skew ahead accepted");
  await refused(t, proof({ iat: NOW + 6 }), /in the future/);
});

t.test("check 12: with an access token, ath must be its SHA-256 hash; without one it is not looked at", async (t) => {
  const token = "an.access.token";
  const withToken = { ...EXPECT, accessToken: token };
  t.ok(await verifyDpopProof(await proof({ ath: ath(token) }), withToken, TIME), "the right hash");
  await refused(t, proof({}), /ath does not match/, withToken);
  await refused(t, proof({ ath: ath("another.token") }), /ath does not match/, withToken);
  await refused(t, proof({ ath: 5 }), /ath does not match/, withToken);
  t.ok(await verifyDpopProof(await proof({ ath: "anything" }), EXPECT, TIME), "no access token: ath ignored");
});

t.test("checked headers are remembered up to a bound; one forgotten is checked again", async (t) => {
  const keys = Array.from({ length: MAX_CHECKED_HEADERS + 1 }, () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  for (const k of keys) await verifyDpopProof(nodeSigned("ES256", "sha256", k, { dsaEncoding: "ieee-p1363" }), EXPECT, TIME);
  const first = keys[0]!;
  const jkt = await calculateJwkThumbprint(createPublicKey(first).export({ format: "jwk" }), "sha256");
  t.equal((await verifyDpopProof(nodeSigned("ES256", "sha256", first, { dsaEncoding: "ieee-p1363" }), EXPECT, TIME)).jkt, jkt, "the oldest, evicted, verifies again");
  await refused(t, nodeSigned("ES256", "sha256", first, { dsaEncoding: "ieee-p1363" }).replace(/\.[^.]+$/, ".AAAA"), /signature does not verify/);
  const good = nodeSigned("ES256", "sha256", first, { dsaEncoding: "ieee-p1363" });
  const [header] = good.split(".");
  const tampered = `${header}.${Buffer.from(JSON.stringify({ jti: "other", htm: "POST", htu: EXPECT.htu, iat: NOW })).toString("base64url")}.${good.split(".")[2]}`;
  await refused(t, tampered, /signature does not verify/); // a remembered header does not spare the signature over the payload
});

t.test("check 9 for many endpoints: each proof is held to its own request's URI", async (t) => {
  for (let i = 0; i < 300; i++) {
    const htu = `https://tessera.test/r${i}`;
    await verifyDpopProof(await proof({ htu }), { htm: "POST", htu }, TIME);
  }
  await refused(t, proof({ htu: "https://tessera.test/r1" }), /htu must be https:\/\/tessera.test\/r2/, { htm: "POST", htu: "https://tessera.test/r2" });
  t.ok(await verifyDpopProof(await proof(), EXPECT, TIME), "and the token endpoint's still");
});
