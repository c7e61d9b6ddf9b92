import t from "tap";
import { calculateJwkThumbprint, type JWK } from "jose";
import { buildTestApp } from "../../helpers/app.js";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

t.test("JWKS publishes the signing key with public members only and its RFC 7638 thumbprint as kid", async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^application\/json/);
  const { keys } = res.json() as { keys: JWK[] };
  t.equal(keys.length, 1);
  const [key] = keys as [JWK];
  for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `no private member ${member}`);
  t.same(Object.keys(key).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
  t.equal(key.kty, "RSA");
  t.equal(key.alg, "RS256");
  t.equal(key.use, "sig");
  t.equal(key.kid, await calculateJwkThumbprint(key, "sha256"));
  t.equal(key.kid, app.services.keys.signer?.kid, "the published key is the one that signs");
});

t.test("JWKS is cacheable for JWKS_MAX_AGE seconds (default 300)", async (t) => {
  const byDefault = await buildTestApp(t);
  const res = await byDefault.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(res.headers["cache-control"], "public, max-age=300");

  const configured = await buildTestApp(t, { JWKS_MAX_AGE: "2m" });
  const res2 = await configured.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(res2.headers["cache-control"], "public, max-age=120");
});

t.test("JWKS conditional requests (RFC 9110 §13.1.2)", async (t) => {
  const { app } = await buildTestApp(t);
  const get = (ifNoneMatch?: string) =>
    app.inject({ method: "GET", url: "/.well-known/jwks.json", headers: ifNoneMatch === undefined ? {} : { "if-none-match": ifNoneMatch } });

  const first = await get();
  const etag = first.headers.etag;
  t.type(etag, "string");
  t.match(etag, /^"[^"]+"$/, "a strong entity tag in quotes");
  t.equal((await get()).headers.etag, etag, "the same key set keeps its tag");

  t.test("the same tag answers 304 with an empty body and the caching headers", async (t) => {
    const res = await get(String(etag));
    t.equal(res.statusCode, 304);
    t.equal(res.body, "");
    t.equal(res.headers.etag, etag);
    t.equal(res.headers["cache-control"], "public, max-age=300");
  });

  for (const [name, header] of [
    ["a list containing the tag", `"something-else", ${etag}`],
    ["a list without spaces", `"something-else",${etag}`],
    ["the weak form W/ of the tag", `W/${etag}`],
    ["*", "*"],
  ] as const) {
    t.test(`If-None-Match with ${name} answers 304`, async (t) => {
      const res = await get(header);
      t.equal(res.statusCode, 304);
      t.equal(res.body, "");
    });
  }

  t.test("a different tag answers 200 with the key set", async (t) => {
    const res = await get('"not-the-current-tag"');
    t.equal(res.statusCode, 200);
    t.equal(res.headers.etag, etag);
    t.equal(res.body, first.body);
  });
});
