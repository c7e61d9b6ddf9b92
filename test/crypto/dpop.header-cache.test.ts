// verifyDpopProof with a DpopHeaderCache: a header checked once is reused (same alg, key and
// thumbprint), but every proof's own signature and claims are still checked, a header that failed is
// never kept, and the cache holds at most its size.
import t from "tap";
import { DpopHeaderCache, verifyDpopProof } from "../../src/crypto/dpop.js";
import { InvalidDpopProof } from "../../src/errors/oauth.js";
import { dpopKey, dpopProof } from "../helpers/dpop.js";

const NOW = 1_800_000_000;
const HTU = "https://tessera.test/token";
const EXPECT = { htm: "POST", htu: HTU };
const TIME = { nowSeconds: NOW, maxAgeSeconds: 60, skewSeconds: 5 };
const key = await dpopKey("ES256");
const proof = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => dpopProof(key, { nowSeconds: NOW, htu: HTU, ...claims }, header);
const headerOf = (jws: string) => jws.split(".")[0]!;
const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

t.test("the second proof of a key reuses its checked header and gets the same thumbprint", async (t) => {
  const cache = new DpopHeaderCache(10);
  const first = await proof();
  t.equal((await verifyDpopProof(first, EXPECT, TIME, cache)).jkt, key.jkt);
  const cached = cache.get(headerOf(first));
  t.ok(cached, "the header is kept");
  const second = await proof();
  t.equal(headerOf(second), headerOf(first), "jose makes the same header bytes for the same key");
  t.same(await verifyDpopProof(second, EXPECT, TIME, cache), { jkt: key.jkt, jti: (await verifyDpopProof(second, EXPECT, TIME)).jti, iat: NOW, nonce: undefined });
  t.equal(cache.get(headerOf(second)), cached, "and it was reused, not checked again");
});

t.test("a cached header does not spare the signature or the claims", async (t) => {
  const cache = new DpopHeaderCache(10);
  const good = await proof();
  await verifyDpopProof(good, EXPECT, TIME, cache);
  const other = (await proof({ jti: "mine" })).split(".");
  const forged = `${other[0]}.${other[1]}.${good.split(".")[2]}`; // another payload under the first proof's signature
  t.match(await refusal(verifyDpopProof(forged, EXPECT, TIME, cache)), { code: "invalid_dpop_proof", description: /signature does not verify/ });
  t.match(await refusal(verifyDpopProof(await proof({ htm: "GET" }), EXPECT, TIME, cache)), { description: /htm must be POST/ });
  t.match(await refusal(verifyDpopProof(await proof({ iat: NOW - 3600 }), EXPECT, TIME, cache)), { description: /too old/ });
});

t.test("a header that fails is not kept, and fails again", async (t) => {
  const cache = new DpopHeaderCache(10);
  const bad = await proof({}, { typ: "JWT" });
  for (let i = 0; i < 2; i++) {
    const error = await refusal(verifyDpopProof(bad, EXPECT, TIME, cache));
    t.ok(error instanceof InvalidDpopProof);
    t.match(error, { description: /typ must be dpop\+jwt/ });
  }
  t.equal(cache.get(headerOf(bad)), undefined);
});

t.test("the cache holds at most its size: the oldest header goes first", async (t) => {
  const cache = new DpopHeaderCache(2);
  const keys = await Promise.all([dpopKey(), dpopKey(), dpopKey()]);
  const proofs = await Promise.all(keys.map((k) => dpopProof(k, { nowSeconds: NOW, htu: HTU })));
  for (const p of proofs) await verifyDpopProof(p, EXPECT, TIME, cache);
  t.equal(cache.get(headerOf(proofs[0]!)), undefined, "the first key's header was dropped");
  t.equal(cache.get(headerOf(proofs[1]!))?.jkt, keys[1]!.jkt);
  t.equal(cache.get(headerOf(proofs[2]!))?.jkt, keys[2]!.jkt);
});
