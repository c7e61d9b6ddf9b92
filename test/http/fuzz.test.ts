// Property-based fuzzing of every public endpoint (fast-check): random bodies (strings, bytes,
// form-encoded pairs with repeated and prototype-named keys, JSON near the expected shape, deeply
// nested and huge JSON, wrong content types), random headers (Authorization with random schemes,
// Base64 and garbage, cookies, content types) and random tokens (JWT-shaped, with hostile JOSE
// headers). For every request: no 5xx ("Bad input never yields a 5xx", SPEC), and every 4xx is an
// OAuth error body (RFC 6749 §5.2), never Fastify's {statusCode, code, message}. After each property
// the server still answers /healthz and issues a token, and Object.prototype is untouched.
//
// fast-check picks a new seed per run and prints it with the counterexample on failure; replay with
// fc.check(property, { seed, path }).
import t, { type Test } from "tap";
import fc from "fast-check";
import { base64url, decodeProtectedHeader } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { FORM } from "../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const API = "https://api.example.test";
const RUNS = 150;

// Rate limits on, but far out of reach: the key generators run on every request without any 429.
// ES256 signing keys: a valid POST /admin/keys/rotate makes a key, and an RSA key takes up to
// seconds on a busy machine; nothing fuzzed here depends on the algorithm.
const HIGH = "10000000";
const { app, createClient } = await buildTestApp(t, {
  SIGNING_ALG: "ES256",
  RATE_LIMIT_TOKEN: HIGH,
  RATE_LIMIT_LOGIN: HIGH,
  RATE_LIMIT_REFRESH: HIGH,
  RATE_LIMIT_REVOKE: HIGH,
  RATE_LIMIT_INTROSPECT: HIGH,
});

// The health check's own client is never offered to the fuzzer, so nothing random can change it.
const healthClient = await createClient({ name: "health", grantTypes: ["client_credentials"], scopes: ["read"], audiences: [API] });
const thirdParty = await createClient({ name: "third party", grantTypes: ["client_credentials", "refresh_token"], scopes: ["read", "write"], audiences: [API, "https://other.example.test"] });
const firstParty = await createClient({ name: "web", firstParty: true, grantTypes: ["password", "refresh_token"], scopes: ["read"], audiences: [API] });
const resourceServer = await createClient({ name: "api", canIntrospect: true, grantTypes: ["client_credentials"], scopes: [], audiences: [API] });
const adminClient = await createClient({ name: "admin", grantTypes: ["client_credentials"], scopes: ["admin"], audiences: [ISSUER] });
const victim = await createClient({ name: "victim", grantTypes: ["client_credentials"], scopes: ["read"], audiences: [API] });
const USERNAME = "alice";
const PASSWORD = "alice-password-1";
await app.services.users.create(USERNAME, PASSWORD);

const post = (url: string, headers: Record<string, string>, payload: string) => app.inject({ method: "POST", url, headers, payload });

async function accessToken(creds: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await post("/token", { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, form({ grant_type: "client_credentials" }));
  if (res.statusCode !== 200) throw new Error(`setup: client_credentials answered ${res.statusCode} ${res.body}`);
  return res.json().access_token;
}

async function refreshToken(): Promise<string> {
  const res = await post("/login", { "content-type": "application/json" }, JSON.stringify({ username: USERNAME, password: PASSWORD, client_id: firstParty.clientId }));
  if (res.statusCode !== 200) throw new Error(`setup: /login answered ${res.statusCode} ${res.body}`);
  return res.json().refresh_token;
}

const realAccessToken = await accessToken(thirdParty);
const serverKid = decodeProtectedHeader(realAccessToken).kid!;
const realRefreshToken = await refreshToken();
const jwksEtag = String((await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).headers.etag);

// ---------------------------------------------------------------------------------------------
// Generators

/** Characters that have broken parsers, databases and encoders before. */
const NASTY = [
  "\u0000", "\u0001", "\u001f", "\u007f", "\u0085", "\u00a0", "\u00ff", "\u2028", "\u202e", "\ufeff", "\uffff", "\ud800", "\udfff",
  "😀", "é", "ß", "İ", "%", "%00", "%zz", "%E0%A4%A", "%C0%AE", "+", "&", "=", ";", ",", ":", '"', "'", "\\", "/", "..", "<",
  ">", "{", "}", "[", "]", "\r", "\n", "\t", " ", "*", "$", "#", "?", "__proto__", "constructor",
];
const char = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY), weight: 2 },
  { arbitrary: fc.constantFrom("\u0000", "\ud800", "\uffff"), weight: 1 }, // NUL: PostgreSQL text cannot hold it
  { arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), weight: 1 }, // lone surrogates too
);
const text = (maxLength = 40) => fc.string({ unit: char, maxLength });
const longText = fc.oneof(text(40), fc.tuple(fc.constantFrom("a", "%", "\u0000", "😀"), fc.integer({ min: 100, max: 20_000 })).map(([c, n]) => c.repeat(n)));

/** A header value Node's HTTP parser would deliver: visible ASCII, space, tab and obs-text. */
const headerChar = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 8 },
  { arbitrary: fc.integer({ min: 0x80, max: 0xff }), weight: 1 },
  { arbitrary: fc.constant(0x09), weight: 1 },
).map((c) => String.fromCharCode(c));
const headerText = (maxLength = 60) => fc.string({ unit: headerChar, maxLength });

const B64URL = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"];
const b64Segment = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 80 }), weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...B64URL, "=", "+", "/", ".", " ", "%"), maxLength: 40 }), weight: 1 },
);

const PROTO_KEYS = ["__proto__", "constructor", "prototype", "__proto__[admin]", "constructor[prototype][admin]", "hasOwnProperty", "toString", "valueOf", "__defineGetter__", "a[b]", "a[]", "a.b"];

/** Any JSON value, including deep and huge ones. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 6 },
  { arbitrary: text(20), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 500 }).map((n) => JSON.parse("[".repeat(n) + "]".repeat(n)) as unknown), weight: 1 },
  { arbitrary: fc.tuple(fc.integer({ min: 100, max: 5000 }), fc.jsonValue({ maxDepth: 0 })).map(([n, v]) => Array.from({ length: n }, () => v)), weight: 1 },
  { arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53, "", [], {}), weight: 2 },
);

/** Serialises pairs as a JSON object literally, so that "__proto__" and repeated keys get through. */
const jsonObjectText = (pairs: [string, unknown][]) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`).join(",")}}`;

/** encodeURIComponent, or the raw text where it cannot encode (lone surrogates). */
const encode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Percent-encoded UTF-8 of any string (lone surrogates become U+FFFD, as a client's encoder makes them). */
const encodeWellFormed = (s: string) => encodeURIComponent(Buffer.from(s, "utf8").toString("utf8"));

/** An endpoint's parameters and good (or plausible) values; JSON bodies keep non-string values as they are. */
type Fields = Record<string, fc.Arbitrary<unknown>>;

const asFormValue = (value: unknown) => (typeof value === "string" ? value : (JSON.stringify(value) ?? ""));

/** Some of the fields; half the time at least the `required` ones, so that more requests get past validation. */
const someKeys = (fields: Fields, required: string[]) =>
  fc.oneof(fc.record(fields, { requiredKeys: [] }), fc.record(fields, { requiredKeys: required.filter((k) => k in fields) })) as fc.Arbitrary<Record<string, unknown>>;

/** A form body near the endpoint's parameters: known keys with good or random values, junk and prototype keys, repeats. */
function formBody(fields: Fields, required: string[] = []): fc.Arbitrary<string> {
  const junkKey = fc.oneof({ arbitrary: fc.constantFrom(...PROTO_KEYS), weight: 2 }, { arbitrary: text(12), weight: 1 });
  return fc
    .tuple(
      someKeys(fields, required).map((known) => Object.entries(known).map(([k, v]): [string, string] => [k, asFormValue(v)])),
      fc.array(fc.tuple(junkKey, text(20)), { maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      fc.constantFrom("encoded", "raw", "mixed"),
      fc.constantFrom("&", "&", "&", ";", "&&"),
    )
    .map(([known, junk, repeats, mode, separator]) => {
      const pairs = [...known, ...junk];
      for (const r of repeats) if (pairs.length > 0) pairs.push(pairs[r % pairs.length]!);
      return pairs
        .map(([k, v], i) => (mode === "encoded" || (mode === "mixed" && i % 2 === 0) ? `${encode(k)}=${encode(v)}` : `${k}=${v}`))
        .join(separator);
    });
}

/** A JSON body near the endpoint's fields: right or wrong types, extra and prototype keys, or not an object at all. */
function jsonBody(fields: Fields, required: string[] = []): fc.Arbitrary<string> {
  const value = (good: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: anyJson, weight: 1 });
  const near = fc
    .tuple(
      someKeys(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, value(v)])), required),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS), text(10)), anyJson), { maxLength: 3 }),
    )
    .map(([known, extra]) => jsonObjectText([...Object.entries(known), ...extra]));
  return fc.oneof(
    { arbitrary: near, weight: 6 },
    { arbitrary: anyJson.map((v) => JSON.stringify(v) ?? "null"), weight: 2 },
    { arbitrary: fc.tuple(near, fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))), weight: 1 }, // truncated
    { arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)), weight: 1 },
  );
}

const randomBody = fc.oneof(
  text(200),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  longText,
);

const FORM_TYPES = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED", "application/x-www-form-urlencoded;charset=UTF-16"];
const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/json; charset=latin1"];
const OTHER_TYPES = [
  "text/plain", "multipart/form-data; boundary=x", "multipart/form-data", "application/xml", "application/octet-stream", "application/jsonx",
  "application/x-www-form-urlencoded-evil", "application/json, application/x-www-form-urlencoded", "*/*", "", ";", "application/", "x",
  "application/merge-patch+json", "application/jose", "application/jwt",
];
const anyContentType = fc.oneof(
  fc.constantFrom(...FORM_TYPES, ...JSON_TYPES, ...OTHER_TYPES),
  headerText(40),
  fc.constant(undefined),
);

type Body = { contentType: string | undefined; payload: string | Buffer | undefined };

/** A body for an endpoint: mostly the right media type with content near the right shape, often neither. */
function bodies(fields: Fields, expected: "form" | "json" | "either", required: string[] = []): fc.Arbitrary<Body> {
  const asForm = fc.tuple(formBody(fields, required), fc.constantFrom(...FORM_TYPES)).map(([payload, contentType]) => ({ contentType, payload }));
  const asJson = fc.tuple(jsonBody(fields, required), fc.constantFrom(...JSON_TYPES)).map(([payload, contentType]) => ({ contentType, payload }));
  const mismatched = fc
    .tuple(fc.oneof(formBody(fields), jsonBody(fields), randomBody), anyContentType)
    .map(([payload, contentType]): Body => ({ contentType, payload }));
  return fc.oneof(
    { arbitrary: asForm, weight: expected === "json" ? 1 : 5 },
    { arbitrary: asJson, weight: expected === "form" ? 1 : 5 },
    { arbitrary: mismatched, weight: 3 },
    { arbitrary: fc.constant<Body>({ contentType: undefined, payload: undefined }), weight: 1 },
  );
}

const ALGS = ["none", "None", "NONE", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA", "Ed25519", "A128KW", "dir", "RSA-OAEP", ""];
const TYPS = ["at+jwt", "application/at+jwt", "AT+JWT", "JWT", "jwt", "dpop+jwt", "logout+jwt", "", "at+jwt; charset=utf-8"];

/** A JOSE header with random, hostile or almost-right members. */
const joseHeader = fc.record(
  {
    alg: fc.oneof({ arbitrary: fc.constantFrom(...ALGS), weight: 4 }, { arbitrary: anyJson, weight: 1 }),
    typ: fc.oneof({ arbitrary: fc.constantFrom(...TYPS), weight: 4 }, { arbitrary: anyJson, weight: 1 }),
    kid: fc.oneof({ arbitrary: fc.constant(serverKid), weight: 3 }, { arbitrary: text(30), weight: 2 }, { arbitrary: anyJson, weight: 1 }, { arbitrary: fc.constantFrom("../../../etc/passwd", "' OR 1=1 --", "\u0000"), weight: 1 }),
    jku: fc.oneof(fc.constantFrom("https://attacker.example/jwks.json", "http://127.0.0.1:1/", "file:///etc/passwd"), text(30)),
    x5u: fc.oneof(fc.constantFrom("https://attacker.example/cert.pem", "http://169.254.169.254/latest/meta-data/"), text(30)),
    jwk: fc.oneof(fc.constant({ kty: "oct", k: "AAAA" }), fc.constant({ kty: "RSA", n: "AQAB", e: "AQAB" }), anyJson),
    x5c: fc.oneof(fc.constant(["MIIB"]), anyJson),
    crit: fc.oneof(fc.constantFrom(["b64"], ["exp"], ["urn:example:unknown"], [], ["kid", "kid"]), anyJson),
    b64: fc.oneof(fc.boolean(), anyJson),
    zip: fc.constantFrom("DEF", "x"),
    enc: fc.constantFrom("A128GCM", "x"),
  },
  { requiredKeys: [] },
);

const nowSeconds = Math.floor(Date.UTC(2026, 0, 1) / 1000);
const plausibleClaims = fc.record(
  {
    iss: fc.oneof(fc.constant(ISSUER), text(20)),
    sub: fc.oneof(fc.constant(thirdParty.clientId), text(20)),
    aud: fc.oneof(fc.constantFrom(API, ISSUER), fc.constant([API, ISSUER]), anyJson),
    client_id: fc.oneof(fc.constantFrom(thirdParty.clientId, adminClient.clientId), anyJson),
    scope: fc.oneof(fc.constantFrom("read", "admin", "read write admin"), anyJson),
    iat: fc.oneof(fc.constant(nowSeconds), anyJson),
    exp: fc.oneof(fc.constant(nowSeconds + 900), fc.constantFrom(2 ** 53, -1, 1e308), anyJson),
    nbf: anyJson,
    jti: fc.oneof(fc.uuid(), anyJson),
  },
  { requiredKeys: [] },
);

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value) ?? "null");
const [realHeader, realPayload, realSignature] = realAccessToken.split(".") as [string, string, string];

/** JWT-shaped strings (and a few that only look close), with hostile headers and real or random parts. */
const jwtShaped: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .tuple(joseHeader, fc.oneof(plausibleClaims, anyJson), fc.oneof(b64Segment, fc.constant(realSignature), fc.constant("")))
      .map(([h, p, s]) => `${encodeJson(h)}.${encodeJson(p)}.${s}`),
    weight: 5,
  },
  { arbitrary: fc.array(b64Segment, { minLength: 1, maxLength: 6 }).map((segments) => segments.join(".")), weight: 2 },
  {
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...B64URL, ".", "=", "")).map(([i, c]) => {
      const at = i % realAccessToken.length;
      return realAccessToken.slice(0, at) + c + realAccessToken.slice(at + 1);
    }),
    weight: 2,
  },
  { arbitrary: joseHeader.map((h) => `${encodeJson(h)}.${realPayload}.${realSignature}`), weight: 2 },
  { arbitrary: fc.constant(`${realHeader}.${realPayload}.${realSignature}`), weight: 1 },
  { arbitrary: fc.constantFrom(realRefreshToken, "A".repeat(43)), weight: 1 },
  { arbitrary: longText, weight: 1 },
);

/** A refresh-token-ish string: the real one, random base64url, JWTs, garbage. */
const tokenish = fc.oneof(jwtShaped, b64Segment, text(60));

const clientIds = fc.oneof(
  fc.constantFrom(thirdParty.clientId, firstParty.clientId, resourceServer.clientId, victim.clientId, adminClient.clientId),
  text(30),
);
const secrets = fc.oneof(fc.constantFrom(thirdParty.clientSecret, firstParty.clientSecret, resourceServer.clientSecret, victim.clientSecret), text(50));

/** Authorization header values: valid, almost valid, random schemes, random Base64, garbage. */
function authorizations(extra: fc.Arbitrary<string>[] = []): fc.Arbitrary<string | undefined> {
  const scheme = fc.oneof(
    fc.constantFrom("Basic", "basic", "BASIC", "Bearer", "bearer", "Digest", "DPoP", "Negotiate", "Token", "", "Basic  ", " Basic"),
    fc.string({ unit: fc.constantFrom(..."abcXYZ-_!"), maxLength: 10 }),
  );
  const credentials = fc.oneof(
    fc.tuple(clientIds, secrets).map(([id, secret]) => Buffer.from(`${encode(id)}:${encode(secret)}`).toString("base64")),
    fc.tuple(text(20), text(20)).map(([id, secret]) => Buffer.from(`${id}:${secret}`).toString("base64")),
    text(30).map((s) => Buffer.from(s).toString("base64")),
    b64Segment,
    jwtShaped,
    headerText(60),
  );
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 3 },
    { arbitrary: fc.tuple(clientIds, secrets).map(([id, secret]) => `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString("base64")}`), weight: 3 },
    { arbitrary: fc.tuple(scheme, credentials).map(([s, c]) => `${s} ${c}`.replace(/[\r\n]/g, "")), weight: 4 },
    { arbitrary: headerText(100), weight: 1 },
    ...extra.map((arbitrary) => ({ arbitrary, weight: 3 })),
  );
}

const cookies = fc.oneof(
  fc.constant(undefined),
  tokenish.map((v) => `refresh_token=${encode(v)}`),
  fc.constant(`refresh_token=${realRefreshToken}`),
  fc.tuple(tokenish, tokenish).map(([a, b]) => `refresh_token=${encode(a)}; refresh_token=${encode(b)}`),
  headerText(100),
  fc.constantFrom("refresh_token=%zz", "refresh_token", "=", ";;;", "refresh_token=\"quoted\"", `__proto__=x; constructor=y`),
  fc.integer({ min: 1000, max: 8000 }).map((n) => `refresh_token=${"a".repeat(n)}`),
);

const extraHeaders = fc.record(
  {
    accept: fc.oneof(fc.constantFrom("application/json", "*/*", "text/html", "application/xml;q=0.9"), headerText(30)),
    "x-forwarded-for": fc.oneof(fc.constantFrom("1.2.3.4", "::1", "1.2.3.4, 5.6.7.8"), headerText(30)),
    "if-none-match": fc.oneof(fc.constantFrom(jwksEtag, "*", `W/${jwksEtag}`, '"x", *'), headerText(30)),
    origin: fc.oneof(fc.constantFrom("https://evil.example", "null"), headerText(30)),
    "x-http-method-override": fc.constantFrom("DELETE", "GET", "PATCH"),
    host: fc.oneof(fc.constantFrom("evil.example", "tessera.test:443", "[::1]", ""), headerText(30)),
  },
  { requiredKeys: [] },
);

type Request = { method: "GET" | "POST" | "PATCH" | "DELETE" | "HEAD"; url: string; headers: Record<string, string>; payload?: string | Buffer };

function request(method: Request["method"], url: fc.Arbitrary<string> | string, body: fc.Arbitrary<Body>, authorization: fc.Arbitrary<string | undefined>): fc.Arbitrary<Request> {
  return fc
    .tuple(typeof url === "string" ? fc.constant(url) : url, body, authorization, cookies, extraHeaders)
    .map(([u, { contentType, payload }, auth, cookie, extra]) => {
      const headers: Record<string, string> = { ...extra };
      if (contentType !== undefined) headers["content-type"] = contentType;
      if (auth !== undefined) headers.authorization = auth;
      if (cookie !== undefined) headers.cookie = cookie;
      return { method, url: u, headers, ...(payload !== undefined && { payload }) };
    });
}

const query = fc.oneof(
  fc.constant(""),
  fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS, "limit", "before", "grant_type", "token"), text(10)), text(20)), { maxLength: 5 }).map(
    (pairs) => `?${pairs.map(([k, v]) => `${encodeWellFormed(k)}=${encodeWellFormed(v)}`).join("&")}`,
  ),
  // Unencoded, as a request line can carry it (visible ASCII): stray %, &, =, [ ].
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }).map((s) => `?${s.replace(/#/g, "")}`),
);

// ---------------------------------------------------------------------------------------------
// Properties

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const prototypeMembers = Object.getOwnPropertyNames(Object.prototype).sort().join();

/** Throws (so that fast-check shrinks and reports) when an answer breaks the contract. */
function checkAnswer(req: Request, res: LightMyRequestResponse): void {
  const summary = () => `${req.method} ${req.url} answered ${res.statusCode} ${String(res.headers["content-type"])}: ${res.body.slice(0, 300)}`;
  if (res.statusCode >= 500) throw new Error(`a 5xx: ${summary()}`);
  if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== prototypeMembers || ({} as Record<string, unknown>).admin !== undefined) {
    throw new Error(`Object.prototype was changed: ${summary()}`);
  }
  if (res.statusCode < 400 || req.method === "HEAD") return;
  if (!/^application\/json/.test(String(res.headers["content-type"]))) throw new Error(`a 4xx that is not JSON: ${summary()}`);
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new Error(`a 4xx whose body is not JSON: ${summary()}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error(`a 4xx body that is not an object: ${summary()}`);
  const fields = body as Record<string, unknown>;
  if ("statusCode" in fields || "code" in fields || "message" in fields) throw new Error(`Fastify's error shape: ${summary()}`);
  if (typeof fields.error !== "string") throw new Error(`a 4xx without an error string: ${summary()}`);
  const extra = Object.keys(fields).filter((k) => k !== "error" && k !== "error_description");
  if (extra.length > 0) throw new Error(`a 4xx with members beyond error and error_description (${extra.join()}): ${summary()}`);
  if (fields.error_description !== undefined && (typeof fields.error_description !== "string" || !DESCRIPTION_CHARS.test(fields.error_description))) {
    throw new Error(`an error_description outside RFC 6749 §5.2: ${summary()}`);
  }
  if (res.headers["cache-control"] !== "no-store") throw new Error(`a 4xx without Cache-Control: no-store: ${summary()}`);
}

const REPORT_LIMIT = 6000;

/** Runs the property, asserts it held, then that the server is still healthy. */
async function fuzz(t: Test, requests: fc.Arbitrary<Request>, numRuns = RUNS): Promise<void> {
  const details = await fc.check(
    fc.asyncProperty(requests, async (req) => checkAnswer(req, await app.inject(req))),
    { numRuns },
  );
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const report = details.failed ? `${error}\n${fc.defaultReportMessage(details) ?? ""}`.slice(0, REPORT_LIMIT) : "";
  t.notOk(details.failed, details.failed ? `property failed (seed ${details.seed}):\n${report}` : `held for ${details.numRuns} random requests`);
  if (!details.failed) t.equal(details.numRuns, numRuns, "every run was made");
  await assertHealthy(t);
}

async function assertHealthy(t: Test): Promise<void> {
  const health = await app.inject({ method: "GET", url: "/healthz" });
  t.equal(health.statusCode, 200, "afterwards /healthz still answers 200");
  const token = await post("/token", { ...FORM, authorization: basic(healthClient.clientId, healthClient.clientSecret) }, form({ grant_type: "client_credentials" }));
  t.equal(token.statusCode, 200, `afterwards a valid client_credentials request still gets a token (${token.body.slice(0, 200)})`);
  t.type(token.json().access_token, "string");
}

const CLIENT_PARAMS: Fields = {
  client_id: clientIds,
  client_secret: secrets,
};

t.test("POST /token", async (t) => {
  const fields: Fields = {
    grant_type: fc.oneof(fc.constantFrom("client_credentials", "password", "refresh_token", "authorization_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"), text(20)),
    scope: fc.oneof(fc.constantFrom("read", "read write", "admin", "", " read  write "), text(30)),
    resource: fc.oneof(fc.constantFrom(API, ISSUER, `${API}#x`, "urn:x", "https://"), text(30)),
    audience: fc.oneof(fc.constantFrom(API, ISSUER), text(30)),
    username: fc.oneof(fc.constant(USERNAME), text(30)),
    password: fc.oneof(fc.constant(PASSWORD), text(30)),
    refresh_token: tokenish,
    ...CLIENT_PARAMS,
  };
  await fuzz(t, request("POST", "/token", bodies(fields, "form", ["grant_type"]), authorizations()));
});

t.test("POST /login", async (t) => {
  const fields: Fields = {
    username: fc.oneof(fc.constant(USERNAME), text(30)),
    password: fc.oneof(fc.constant(PASSWORD), text(30)),
    client_id: fc.oneof({ arbitrary: fc.constant(firstParty.clientId), weight: 3 }, { arbitrary: clientIds, weight: 1 }),
  };
  await fuzz(t, request("POST", "/login", bodies(fields, "json", ["username", "password", "client_id"]), authorizations()));
});

t.test("POST /refresh", async (t) => {
  await fuzz(t, request("POST", "/refresh", bodies({ refresh_token: tokenish }, "either"), authorizations()));
});

t.test("POST /logout", async (t) => {
  await fuzz(t, request("POST", "/logout", bodies({ refresh_token: tokenish }, "either"), authorizations()));
});

const tokenStateFields: Fields = {
  token: tokenish,
  token_type_hint: fc.oneof(fc.constantFrom("access_token", "refresh_token", "id_token", ""), text(15)),
  ...CLIENT_PARAMS,
};

t.test("POST /revoke", async (t) => {
  await fuzz(t, request("POST", "/revoke", bodies(tokenStateFields, "form", ["token"]), authorizations()));
});

t.test("POST /introspect", async (t) => {
  await fuzz(t, request("POST", "/introspect", bodies(tokenStateFields, "form", ["token"]), authorizations()));
});

t.test("GET /.well-known/*, /healthz, /readyz, /metrics", async (t) => {
  const paths = fc.constantFrom("/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/healthz", "/readyz", "/metrics");
  const anyBody = bodies({ a: text(10) }, "either");
  const requests = fc
    .tuple(fc.constantFrom<"GET" | "HEAD">("GET", "GET", "GET", "HEAD"), paths, query, anyBody, authorizations(), cookies, extraHeaders)
    .map(([method, path, q, { contentType, payload }, auth, cookie, extra]): Request => {
      const headers: Record<string, string> = { ...extra };
      if (contentType !== undefined) headers["content-type"] = contentType;
      if (auth !== undefined) headers.authorization = auth;
      if (cookie !== undefined) headers.cookie = cookie;
      return { method, url: `${path}${q}`, headers, ...(payload !== undefined && { payload }) };
    });
  await fuzz(t, requests, 200);
});

t.test("/admin/*", async (t) => {
  // A fresh admin token: nothing in the other properties may have revoked it. Callers are
  // authenticated before the body is read (plugins/admin-auth.ts), so the admin token is offered
  // most of the time: only its bearer gets as far as the body.
  const adminToken = await accessToken(adminClient);
  const adminAuth = fc.oneof(
    { arbitrary: fc.constantFrom(`Bearer ${adminToken}`, `bearer   ${adminToken}`, `Bearer ${adminToken} `), weight: 3 },
    { arbitrary: authorizations([jwtShaped.map((j) => `Bearer ${j}`)]), weight: 1 },
  );
  const names = fc.oneof(fc.constantFrom("acme", ""), text(30), longText);
  const uriList = fc.oneof(fc.constant([API]), fc.array(fc.oneof(fc.constantFrom(API, ISSUER, "urn:x"), text(30)), { maxLength: 40 }));
  const grantList = fc.oneof(fc.constant(["client_credentials"]), fc.array(fc.oneof(fc.constantFrom("client_credentials", "password", "refresh_token", "implicit"), text(10)), { maxLength: 10 }));
  // Values of the right JSON types; jsonBody() swaps in values of any type now and then.
  const clientFields: Fields = {
    name: names,
    grant_types: grantList,
    audiences: uriList,
    scope: fc.oneof(fc.constantFrom("read write", "admin", ""), text(40)),
    token_ttl: fc.oneof(fc.constantFrom(1, 600, 86400, 86401, 0, -1, 1.5, 2 ** 31, 2 ** 53, 1e308, null), fc.integer()),
    first_party: fc.boolean(),
    introspect: fc.boolean(),
    enabled: fc.boolean(),
  };
  // Well-formed URLs here; malformed percent-escapes are the last property's business.
  const id = fc.oneof(
    fc.constantFrom(victim.clientId, "x", victim.clientId.slice(1), "..", "%2e%2e"),
    text(40).map(encodeWellFormed),
    fc.integer({ min: 90, max: 400 }).map((n) => "a".repeat(n)), // around the router's 100-character limit
  );

  t.test("GET /admin/clients", async (t) => {
    await fuzz(t, request("GET", fc.tuple(fc.constant("/admin/clients"), query).map(([p, q]) => p + q), bodies({}, "json"), adminAuth), 100);
  });

  t.test("POST /admin/clients", async (t) => {
    await fuzz(t, request("POST", "/admin/clients", bodies(clientFields, "json", ["name", "grant_types", "audiences"]), adminAuth), 200);
  });

  t.test("PATCH /admin/clients/:id", async (t) => {
    await fuzz(t, request("PATCH", id.map((i) => `/admin/clients/${i}`), bodies(clientFields, "json"), adminAuth), 150);
  });

  t.test("GET and DELETE /admin/clients/:id", async (t) => {
    const method = fc.constantFrom<"GET" | "DELETE">("GET", "DELETE");
    const requests = fc.tuple(method, id, adminAuth).map(([m, i, auth]): Request => ({ method: m, url: `/admin/clients/${i}`, headers: auth === undefined ? {} : { authorization: auth } }));
    await fuzz(t, requests, 100);
  });

  t.test("POST /admin/keys/rotate", async (t) => {
    await fuzz(t, request("POST", "/admin/keys/rotate", bodies({ now: fc.boolean() }, "json"), adminAuth), 100);
  });

  t.test("GET /admin/audit", async (t) => {
    const auditQuery = fc
      .record({ limit: fc.oneof(fc.constantFrom("0", "1", "200", "999", "-1", "1e3"), fc.nat().map(String), text(5)), before: fc.oneof(fc.constantFrom("0", "1", "2147483647", "2147483648", "999999999999999"), fc.nat().map(String), text(5)) }, { requiredKeys: [] })
      .map((q) => `/admin/audit?${new URLSearchParams(q).toString()}`);
    await fuzz(t, request("GET", auditQuery, bodies({}, "json"), adminAuth), 100);
  });

  t.test("POST /admin/users", async (t) => {
    const fields: Fields = { username: fc.oneof(fc.constantFrom("bob", "alice", "a".repeat(129)), text(30)), password: fc.oneof(fc.constantFrom("long-enough-password", "short"), text(40)) };
    await fuzz(t, request("POST", "/admin/users", bodies(fields, "json", ["username", "password"]), adminAuth), 60);
  });

  t.test("GET /admin/users", async (t) => {
    const userQuery = fc
      .record({ limit: fc.oneof(fc.constantFrom("0", "1", "500", "501", "-1", "1e2"), text(5)), after: fc.oneof(fc.constantFrom("alice", "", "\u0000"), text(20)), username: fc.oneof(fc.constantFrom("bob", "", "\u0000"), text(20)) }, { requiredKeys: [] })
      .map((q) => `/admin/users?${new URLSearchParams(q).toString()}`);
    await fuzz(t, request("GET", fc.oneof(userQuery, query.map((q) => `/admin/users${q}`)), bodies({}, "json"), adminAuth), 100);
  });

  t.test("/admin/users/:id and its sessions", async (t) => {
    // Ids of no user (a random UUID among them), so that DELETE removes nothing the other properties use.
    const userId = fc.oneof(fc.uuid().map(String), id);
    const fields: Fields = { username: fc.oneof(fc.constantFrom("bob", "a".repeat(129)), text(30)), enabled: fc.boolean(), password: fc.oneof(fc.constantFrom("long-enough-password", "short"), text(40)) };
    const method = fc.constantFrom<"GET" | "DELETE">("GET", "DELETE");
    const reads = fc
      .tuple(method, userId, fc.constantFrom("", "/sessions"), adminAuth)
      .map(([m, i, tail, auth]): Request => ({ method: m, url: `/admin/users/${i}${tail}`, headers: auth === undefined ? {} : { authorization: auth } }));
    await fuzz(t, fc.oneof(reads, request("PATCH", userId.map((i) => `/admin/users/${i}`), bodies(fields, "json"), adminAuth)), 150);
  });
});

t.test("random methods and paths, including malformed percent-escapes", async (t) => {
  // What a request line can carry: visible ASCII (Node's parser refuses the rest before Fastify).
  const segment = fc.oneof(
    fc.constantFrom("token", "admin", "clients", ".well-known", "jwks.json", "..", ".", "", "%2e%2e", "%2F", "%00", "%", "%zz", "%E0%A4%A", "%ED%A0%80", "%C0%AE"),
    fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 }).map((s) => s.replace(/[?#]/g, "")),
  );
  // inject() parses the URL as WHATWG does (light-my-request's parse-url.js); a path it cannot parse
  // (a slash then a backslash) is a limit of inject, not a request: hostile-inputs sends raw ones.
  const injectable = (path: string) => {
    try {
      return new URL(path.startsWith("//") ? `http://localhost${path}` : path, "http://localhost").host === "localhost";
    } catch {
      return false;
    }
  };
  const paths = fc
    .array(segment, { minLength: 1, maxLength: 5 })
    .map((segments) => `/${segments.join("/")}`)
    .filter(injectable);
  const requests = fc
    .tuple(fc.constantFrom<Request["method"]>("GET", "POST", "PATCH", "DELETE", "HEAD"), paths, query, authorizations())
    .map(([method, path, q, auth]): Request => ({ method, url: path + q, headers: auth === undefined ? {} : { authorization: auth } }));
  await fuzz(t, requests, 200);
});
