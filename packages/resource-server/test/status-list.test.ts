// The status list check (draft-ietf-oauth-status-list) against a small real HTTP issuer that
// encodes its lists with tessera's encoder: revoked entries, 1/2/4/8-bit lists, every check on
// the Status List Token, ttl caching and single-flight refresh.
import t, { type Test } from "tap";
import { SignJWT } from "jose";
import { AccessTokenError, createVerifier, decodeStatusList, type VerifierOptions } from "../src/index.js";
import { AUDIENCE, fetchCount, startIssuer, type TestIssuer } from "./helpers/issuer.js";

const setup = async (t: Test, options: Partial<VerifierOptions> = {}) => {
  let nowMs = Date.now();
  const issuer = await startIssuer(t, { now: () => Math.floor(nowMs / 1000) });
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, now: () => nowMs, ...options });
  const tokenAt = (name: string, idx: number) => issuer.sign({ status: { status_list: { idx, uri: issuer.listUri(name) } } });
  return { issuer, verifier, tokenAt, advance: (seconds: number) => (nowMs += seconds * 1000), nowSeconds: () => Math.floor(nowMs / 1000) };
};

const refusedWith = async (t: Test, promise: Promise<unknown>, code: string, message: string | RegExp) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof AccessTokenError, `refused: ${message}`);
  t.match(error, { code, message });
};

t.test("a revoked entry (status 1) makes the token invalid_token; its neighbours stay valid", async (t) => {
  const { issuer, verifier, tokenAt } = await setup(t);
  issuer.list("a").set(7, 1);
  t.equal((await verifier.verify(await tokenAt("a", 6))).sub, "client-1");
  t.equal((await verifier.verify(await tokenAt("a", 8))).sub, "client-1");
  await refusedWith(t, verifier.verify(await tokenAt("a", 7)), "invalid_token", "the token has been revoked");
  t.equal(fetchCount(issuer, "/statuslists/a"), 1, "the list was fetched once for all three");
});

t.test("lists of 2, 4 and 8 bits: any status other than 0 (VALID) is refused", async (t) => {
  const { issuer, verifier, tokenAt } = await setup(t);
  for (const bits of [2, 4, 8] as const) {
    const name = `bits${bits}`;
    const list = issuer.list(name, bits, 64);
    list.set(3, 2); // SUSPENDED
    list.set(5, (1 << bits) - 1);
    t.equal((await verifier.verify(await tokenAt(name, 4))).sub, "client-1", `${bits} bits: entry 4 valid`);
    await refusedWith(t, verifier.verify(await tokenAt(name, 3)), "invalid_token", "the token has been revoked");
    await refusedWith(t, verifier.verify(await tokenAt(name, 5)), "invalid_token", "the token has been revoked");
  }
});

t.test("the draft's 1-bit and 2-bit examples decode to their statuses", async (t) => {
  // draft-ietf-oauth-status-list §4.1 examples.
  const one = decodeStatusList({ bits: 1, lst: "eNrbuRgAAhcBXQ" }, 1024);
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((i) => one.statusAt(i)), [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
  const two = decodeStatusList({ bits: 2, lst: "eNo76fITAAPfAgc" }, 1024);
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => two.statusAt(i)), [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
  t.equal(two.statusAt(two.size), undefined);
});

t.test("a list that inflates beyond the limit is not used", async (t) => {
  const { issuer, verifier, tokenAt } = await setup(t, { statusListMaxBytes: 1024 });
  issuer.list("big", 1, 8 * 2048);
  issuer.list("small", 1, 8 * 1024);
  t.equal((await verifier.verify(await tokenAt("small", 0))).sub, "client-1");
  await refusedWith(t, verifier.verify(await tokenAt("big", 0)), "temporarily_unavailable", /is not a ZLIB stream of at most 1024 bytes/);
});

t.test("an index past the list's end is invalid_token", async (t) => {
  const { issuer, verifier, tokenAt } = await setup(t);
  issuer.list("a", 1, 16);
  await refusedWith(t, verifier.verify(await tokenAt("a", 16)), "invalid_token", "the token's status list index is out of range");
});

t.test("a status_list claim that is malformed or points off the issuer's origin is invalid_token", async (t) => {
  const { issuer, verifier } = await setup(t);
  issuer.list("a");
  const claims = [
    { idx: -1, uri: issuer.listUri("a") },
    { idx: 1.5, uri: issuer.listUri("a") },
    { idx: "1", uri: issuer.listUri("a") },
    { idx: 1 },
  ];
  for (const status_list of claims) {
    await refusedWith(t, verifier.verify(await issuer.sign({ status: { status_list } })), "invalid_token", "the token's status_list claim is malformed");
  }
  for (const uri of ["https://elsewhere.example/statuslists/a", "not a url", issuer.listUri("a").replace("127.0.0.1", "localhost")]) {
    await refusedWith(t, verifier.verify(await issuer.sign({ status: { status_list: { idx: 1, uri } } })), "invalid_token", "the token's status list is not the issuer's");
  }
  t.equal(fetchCount(issuer, "/statuslists/a"), 0, "nothing was fetched for them");
  // The same origin spelled otherwise (scheme in capitals) is the issuer's; the list's sub is then
  // the URI as spelled, so the issuer must use that spelling too (here it does not: unusable).
  const spelled = issuer.listUri("a").replace("http:", "HTTP:");
  await refusedWith(t, verifier.verify(await issuer.sign({ status: { status_list: { idx: 1, uri: spelled } } })), "temporarily_unavailable", /unexpected "sub" claim value/);
  t.equal(fetchCount(issuer, "/statuslists/a"), 1, "fetched: the origin is the issuer's");
});

t.test("a token without a status claim passes, unless requireStatus", async (t) => {
  const { issuer, verifier } = await setup(t);
  t.equal((await verifier.verify(await issuer.sign())).sub, "client-1");
  const strict = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, requireStatus: true });
  await refusedWith(t, strict.verify(await issuer.sign()), "invalid_token", "the token has no status list entry");
});

t.test("a Status List Token is used only if it is one, for this URI, signed by the issuer's key", async (t) => {
  const { issuer, verifier, tokenAt } = await setup(t);
  const cases: [string, (issuer: TestIssuer) => Promise<void> | void, RegExp][] = [
    ["wrong media type", (i) => void i.listResponse.set("l", { contentType: "application/jwt" }), /answered application\/jwt, not application\/statuslist\+jwt/],
    ["no media type", (i) => void i.listResponse.set("l", { contentType: "" }), /answered no content type, not application\/statuslist\+jwt/],
    ["wrong typ", (i) => void i.listResponse.set("l", { typ: "JWT" }), /unexpected "typ" JWT header value/],
    ["another sub", (i) => void i.listClaims.set("l", { sub: i.listUri("other") }), /unexpected "sub" claim value/],
    ["another iss", (i) => void i.listClaims.set("l", { iss: "https://elsewhere.example" }), /signed for another issuer/],
    ["expired", (i) => void i.listClaims.set("l", { exp: Math.floor(Date.now() / 1000) - 60 }), /"exp" claim timestamp check failed/],
    ["no status_list", (i) => void i.listClaims.set("l", { status_list: undefined }), /status_list must be an object/],
    ["bits 3", (i) => void i.listClaims.set("l", { status_list: { bits: 3, lst: "eNrbuRgAAhcBXQ" } }), /status_list.bits must be 1, 2, 4 or 8/],
    ["lst not base64url", (i) => void i.listClaims.set("l", { status_list: { bits: 1, lst: "eNrb+RgAAhcBXQ==" } }), /lst must be base64url without padding/],
    [
      "signed by a key not in the JWKS",
      async (i) => void i.listResponse.set("l", { key: { ...(await i.newKey("key-1")) } }),
      /signature verification failed/,
    ],
  ];
  for (const [name, breakIt, why] of cases) {
    issuer.list("l");
    issuer.listResponse.delete("l");
    issuer.listClaims.delete("l");
    await breakIt(issuer);
    const fresh = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
    await refusedWith(t, fresh.verify(await tokenAt("l", 0)), "temporarily_unavailable", why);
    t.comment(name);
  }
  issuer.listResponse.delete("l");
  issuer.listClaims.delete("l");
  t.equal((await verifier.verify(await tokenAt("l", 0))).sub, "client-1", "the same list, unbroken, is used");
  await refusedWith(t, verifier.verify(await tokenAt("missing", 0)), "temporarily_unavailable", /answered 404/);
});

t.test("a list is used for its ttl, then fetched again (and never past its exp)", async (t) => {
  const { issuer, verifier, tokenAt, advance, nowSeconds } = await setup(t);
  issuer.listClaims.set("a", { ttl: 30 });
  const list = issuer.list("a");
  const token = await tokenAt("a", 2);
  await verifier.verify(token);
  list.set(2, 1);
  advance(29);
  t.equal((await verifier.verify(token)).sub, "client-1", "within ttl the cached list (index 2 still valid) is used");
  t.equal(fetchCount(issuer, "/statuslists/a"), 1);
  advance(2);
  await refusedWith(t, verifier.verify(token), "invalid_token", "the token has been revoked");
  t.equal(fetchCount(issuer, "/statuslists/a"), 2);

  issuer.listClaims.set("b", { ttl: 3600, exp: nowSeconds() + 10 });
  issuer.list("b");
  const b = await tokenAt("b", 0);
  await verifier.verify(b);
  advance(9);
  await verifier.verify(b);
  t.equal(fetchCount(issuer, "/statuslists/b"), 1);
  advance(2);
  await verifier.verify(b).catch(() => undefined);
  t.equal(fetchCount(issuer, "/statuslists/b"), 2, "past the list's exp it is fetched again, though its ttl has not run out");
});

t.test("a list without a usable ttl (none, negative, not a number) is used for statusListDefaultTtlSeconds", async (t) => {
  const { issuer, verifier, tokenAt, advance } = await setup(t, { statusListDefaultTtlSeconds: 20 });
  for (const [name, ttl] of [["none", undefined], ["negative", -1], ["text", "3600"]] as const) {
    issuer.listClaims.set(name, { ttl });
    issuer.list(name);
    const token = await tokenAt(name, 0);
    await verifier.verify(token);
    advance(19);
    await verifier.verify(token);
    t.equal(fetchCount(issuer, `/statuslists/${name}`), 1, `${name}: within the default ttl the cached list is used`);
    advance(2);
    await verifier.verify(token);
    t.equal(fetchCount(issuer, `/statuslists/${name}`), 2, `${name}: past it the list is fetched again`);
  }
});

t.test("a list signed by a new key while the JWKS cannot be fetched is unusable, and used once it can", async (t) => {
  const issuer = await startIssuer(t);
  let jwksDown = false;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    if (jwksDown && String(input).endsWith("/.well-known/jwks.json")) throw new TypeError("fetch failed");
    return globalThis.fetch(input, init);
  };
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, fetch, jwksCooldownSeconds: 0 });
  t.equal((await verifier.verify(await issuer.sign())).sub, "client-1", "the JWKS (key-1 only) is fetched and cached");
  // The issuer rotates: its lists are signed by key-2, which only a new fetch of the JWKS finds.
  const rotated = await issuer.newKey("key-2");
  issuer.keys.push(rotated);
  issuer.list("a");
  issuer.listResponse.set("a", { key: rotated });
  jwksDown = true;
  const token = await issuer.sign({ status: { status_list: { idx: 0, uri: issuer.listUri("a") } } });
  await refusedWith(t, verifier.verify(token), "temporarily_unavailable", `the status list ${issuer.listUri("a")} is unusable: not a verifiable JWT`);
  jwksDown = false;
  t.equal((await verifier.verify(token)).sub, "client-1");
});

t.test("single flight: 100 concurrent verifications after the ttl cause one fetch", async (t) => {
  const { issuer, verifier, tokenAt, advance } = await setup(t);
  issuer.listClaims.set("a", { ttl: 60 });
  issuer.listResponse.set("a", { delayMs: 100 });
  issuer.list("a").set(99, 1);
  const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => tokenAt("a", i)));
  const first = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));
  t.equal(fetchCount(issuer, "/statuslists/a"), 1, "the first 100 share one fetch");
  t.equal(first.filter((r) => r.status === "fulfilled").length, 99);
  advance(61);
  issuer.list("a").set(0, 1);
  const after = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));
  t.equal(fetchCount(issuer, "/statuslists/a"), 2, "after the ttl, 100 requests make one fetch");
  t.equal(after.filter((r) => r.status === "fulfilled").length, 98, "and all see the new list");
});

t.test("a failed fetch is not cached: the next verification fetches again", async (t) => {
  const { issuer, verifier, tokenAt } = await setup(t);
  const token = await tokenAt("late", 0);
  await refusedWith(t, verifier.verify(token), "temporarily_unavailable", /answered 404/);
  issuer.list("late");
  t.equal((await verifier.verify(token)).sub, "client-1");
  t.equal(fetchCount(issuer, "/statuslists/late"), 2);
});

t.test("the token's own checks come first: a forged token never makes the verifier fetch its list", async (t) => {
  const { issuer, verifier } = await setup(t);
  issuer.list("a");
  const stranger = await issuer.newKey("key-1");
  const forged = await issuer.sign({ status: { status_list: { idx: 0, uri: issuer.listUri("a") } } }, { key: stranger });
  await refusedWith(t, verifier.verify(forged), "invalid_token", "the token's signature is invalid");
  t.equal(fetchCount(issuer, "/statuslists/a"), 0);
  const signedList = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(stranger.privateKey);
  t.match(signedList, /^ey/);
});
