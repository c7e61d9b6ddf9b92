// Crafted, forged and garbage tokens at POST /introspect (RFC 7662) and POST /revoke (RFC 7009):
// every one is exactly {"active":false} (or, past the parameter limit, 400 invalid_request) and
// revokes nothing. Each forged token carries claims that would make it active for the requester, and
// the control case shows the same claims signed properly are active: so each inactive answer is
// owed to the one thing that was forged (RFC 8725 §3.1-3.2, RFC 9068 §4).
import { randomUUID } from "node:crypto";
import t, { type Test } from "tap";
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type CompactJWSHeaderParameters,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form, type TestApp } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const ISSUER = "https://tessera.test";
const API = "https://api.example.test";

type Creds = { clientId: string; clientSecret: string };

const { app, clock, config, createClient } = await buildTestApp(t);
const owner = await createClient({ audiences: [API], scopes: ["read"] });
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });
const requesters: [string, Creds][] = [
  ["the client named in client_id", owner],
  ["a resource server for the audience", apiServer],
];

const post = (target: TestApp["app"], url: string, creds: Creds, params: Record<string, string>): Promise<LightMyRequestResponse> =>
  target.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

async function issue(target: TestApp["app"], creds: Creds): Promise<string> {
  const res = await post(target, "/token", creds, { grant_type: "client_credentials" });
  if (res.statusCode !== 200) throw new Error(`client_credentials failed: ${res.body}`);
  return res.json().access_token;
}

const signer = app.services.keys.signer!;
const serverKid = signer.kid;
const jwks = (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json() as { keys: JWK[] };
const serverJwk = jwks.keys.find((k) => k.kid === serverKid)!;
const serverPem = await exportSPKI((await importJWK(serverJwk, serverJwk.alg)) as CryptoKey);

const nowSeconds = () => Math.floor(clock.now() / 1000);

/** Claims that would make a token active for `owner` and for `apiServer`. */
const claims = (overrides: Record<string, unknown> = {}): JWTPayload => {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    sub: owner.clientId,
    aud: API,
    client_id: owner.clientId,
    scope: "read",
    iat: nowSeconds(),
    exp: nowSeconds() + 900,
    jti: randomUUID(),
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
};

/** Signed with the server's own signing key (read from the running app): only what is asked differs. */
const serverSigned = (payload: JWTPayload, header: Partial<CompactJWSHeaderParameters> = {}) =>
  new SignJWT(payload).setProtectedHeader({ alg: signer.alg, typ: "at+jwt", kid: serverKid, ...header } as CompactJWSHeaderParameters).sign(signer.key);

const serverSignedWithoutTyp = (payload: JWTPayload) =>
  new SignJWT(payload).setProtectedHeader({ alg: signer.alg, kid: serverKid }).sign(signer.key);

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

const blocklistSize = () => app.services.db.revokedAccessToken.count();

/** Inactive for both requesters, with and without a hint; and /revoke of it is 200 and revokes nothing. */
async function assertRejected(t: Test, token: string, target: TestApp["app"] = app): Promise<void> {
  for (const [who, creds] of requesters) {
    for (const hint of [undefined, "access_token", "refresh_token"]) {
      const res = await post(target, "/introspect", creds, { token, ...(hint && { token_type_hint: hint }) });
      t.equal(res.statusCode, 200, `${who}, hint ${hint}: 200 (answer: ${res.body})`);
      t.equal(res.body, '{"active":false}', `${who}, hint ${hint}: exactly {"active":false}`);
    }
  }
  const before = await blocklistSize();
  const revoked = await post(target, "/revoke", owner, { token });
  t.equal(revoked.statusCode, 200, "/revoke answers 200");
  t.equal(revoked.body, "", "/revoke answers an empty body");
  t.equal(await blocklistSize(), before, "/revoke put nothing on the blocklist");
}

async function assertActiveForBoth(t: Test, token: string): Promise<void> {
  for (const [who, creds] of requesters) {
    const res = await post(app, "/introspect", creds, { token });
    t.equal(res.statusCode, 200);
    t.equal(res.json().active, true, `active for ${who}`);
  }
}

t.test("control: the crafted claims, signed by the server's key with typ at+jwt, are active", async (t) => {
  await assertActiveForBoth(t, await serverSigned(claims()));
  await assertActiveForBoth(t, await issue(app, owner));
});

t.test("control: typ application/at+jwt is the same media type (RFC 9068 §4) and is active", async (t) => {
  await assertActiveForBoth(t, await serverSigned(claims(), { typ: "application/at+jwt" }));
});

t.test("signatures", async (t) => {
  t.test("a real token with one character in the middle of its signature changed", async (t) => {
    // Not the last character: its low bits may be padding that decodes to the same bytes.
    const [header, payload, signature] = (await issue(app, owner)).split(".") as [string, string, string];
    const i = Math.floor(signature.length / 2);
    const flipped = `${signature.slice(0, i)}${signature[i] === "A" ? "B" : "A"}${signature.slice(i + 1)}`;
    await assertRejected(t, `${header}.${payload}.${flipped}`);
  });

  t.test("a real token with its payload changed (more scope) and the original signature", async (t) => {
    const [header, payload, signature] = (await issue(app, owner)).split(".") as [string, string, string];
    const changed = { ...(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as object), scope: "read write admin" };
    t.not(encodeJson(changed), payload);
    await assertRejected(t, `${header}.${encodeJson(changed)}.${signature}`);
  });

  t.test("a real token without its signature", async (t) => {
    const [header, payload] = (await issue(app, owner)).split(".");
    await assertRejected(t, `${header}.${payload}.`);
    await assertRejected(t, `${header}.${payload}`);
  });

  t.test("signed with another RSA key under the server's kid", async (t) => {
    const { privateKey } = await generateKeyPair("RS256");
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: serverKid }).sign(privateKey));
  });

  t.test("signed with another key under an unknown kid", async (t) => {
    const { privateKey } = await generateKeyPair("RS256");
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "attacker-key" }).sign(privateKey));
  });

  t.test("signed with an EC key under the server's kid", async (t) => {
    const { privateKey } = await generateKeyPair("ES256");
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: serverKid }).sign(privateKey));
  });

  t.test("signed with the attacker's key, which is embedded in the jwk header", async (t) => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = await exportJWK(publicKey);
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", jwk }).sign(privateKey));
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: serverKid, jwk }).sign(privateKey));
  });

  t.test("signed with the attacker's key, published at a jku the header names", async (t) => {
    const { privateKey } = await generateKeyPair("RS256");
    const header = { alg: "RS256", typ: "at+jwt", kid: "attacker-key", jku: "https://attacker.example/jwks.json" };
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader(header).sign(privateKey));
  });
});

t.test("algorithm confusion", async (t) => {
  t.test("alg none (an unsecured JWT)", async (t) => {
    await assertRejected(t, new UnsecuredJWT(claims()).encode());
  });

  t.test("alg none with typ at+jwt, the server's kid and a real token's signature", async (t) => {
    const signature = (await issue(app, owner)).split(".")[2];
    const header = encodeJson({ alg: "none", typ: "at+jwt", kid: serverKid });
    await assertRejected(t, `${header}.${encodeJson(claims())}.${signature}`);
    await assertRejected(t, `${header}.${encodeJson(claims())}.`);
  });

  t.test("alg None, NONE (case variants)", async (t) => {
    for (const alg of ["None", "NONE", "nOnE"]) {
      await assertRejected(t, `${encodeJson({ alg, typ: "at+jwt", kid: serverKid })}.${encodeJson(claims())}.`);
    }
  });

  t.test("HS256 keyed with the server's public key as PEM", async (t) => {
    const key = new TextEncoder().encode(serverPem);
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: serverKid }).sign(key));
    const trimmed = new TextEncoder().encode(serverPem.trim());
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: serverKid }).sign(trimmed));
  });

  t.test("HS256 and HS512 keyed with the server's public JWK as published", async (t) => {
    const key = new TextEncoder().encode(JSON.stringify(serverJwk));
    for (const alg of ["HS256", "HS512"]) {
      await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg, typ: "at+jwt", kid: serverKid }).sign(key));
    }
  });

  t.test("HS256 keyed with the bytes of the server's RSA modulus", async (t) => {
    const key = base64url.decode(serverJwk.n!);
    await assertRejected(t, await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: serverKid }).sign(key));
  });

  t.test("a real token whose header now says HS256", async (t) => {
    const [, payload, signature] = (await issue(app, owner)).split(".");
    await assertRejected(t, `${encodeJson({ alg: "HS256", typ: "at+jwt", kid: serverKid })}.${payload}.${signature}`);
  });
});

t.test("headers and claims, signed with the server's own key", async (t) => {
  t.test("typ JWT", async (t) => {
    await assertRejected(t, await serverSigned(claims(), { typ: "JWT" }));
  });

  t.test("no typ", async (t) => {
    await assertRejected(t, await serverSignedWithoutTyp(claims()));
  });

  t.test("typ of another kind of token (logout+jwt, dpop+jwt)", async (t) => {
    await assertRejected(t, await serverSigned(claims(), { typ: "logout+jwt" }));
    await assertRejected(t, await serverSigned(claims(), { typ: "dpop+jwt" }));
  });

  t.test("a critical header extension the server does not understand (RFC 7515 §4.1.11)", async (t) => {
    // jose's signer is told the extension is understood, so that it signs; tessera's verifier is not.
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: signer.alg, typ: "at+jwt", kid: serverKid, crit: ["urn:example:unknown"], "urn:example:unknown": true })
      .sign(signer.key, { crit: { "urn:example:unknown": true } });
    await assertRejected(t, token);
  });

  t.test("another issuer", async (t) => {
    await assertRejected(t, await serverSigned(claims({ iss: "https://evil.example" })));
    await assertRejected(t, await serverSigned(claims({ iss: `${ISSUER}/` })));
  });

  t.test("no issuer", async (t) => {
    await assertRejected(t, await serverSigned(claims({ iss: undefined })));
  });

  t.test("expired", async (t) => {
    await assertRejected(t, await serverSigned(claims({ iat: nowSeconds() - 1000, exp: nowSeconds() - 100 })));
    await assertRejected(t, await serverSigned(claims({ exp: nowSeconds() })));
  });

  t.test("not valid before a time still to come (nbf)", async (t) => {
    await assertRejected(t, await serverSigned(claims({ nbf: nowSeconds() + 600 })));
  });

  t.test("exp missing or not a number", async (t) => {
    await assertRejected(t, await serverSigned(claims({ exp: undefined })));
    await assertRejected(t, await serverSigned(claims({ exp: String(nowSeconds() + 900) })));
  });

  t.test("iat missing", async (t) => {
    await assertRejected(t, await serverSigned(claims({ iat: undefined })));
  });

  t.test("jti missing (it could never be revoked)", async (t) => {
    await assertRejected(t, await serverSigned(claims({ jti: undefined })));
  });

  t.test("client_id missing", async (t) => {
    await assertRejected(t, await serverSigned(claims({ client_id: undefined })));
  });

  t.test("sub missing", async (t) => {
    await assertRejected(t, await serverSigned(claims({ sub: undefined })));
  });
});

t.test("tokens of other tessera servers", async (t) => {
  t.test("another server on its own database (same issuer name): its kid is unknown here", async (t) => {
    const stranger = await buildTestApp(t, {}, clock);
    const strangerClient = await stranger.createClient({ audiences: [API] });
    const token = await issue(stranger.app, strangerClient);
    t.not(decodeProtectedHeader(token).kid, serverKid);
    t.equal(decodeJwt(token).iss, ISSUER, "same issuer name");
    t.equal(decodeJwt(token).aud, API, "for the resource server's audience");
    await assertRejected(t, token);
  });

  t.test("another issuer on the same database and KEK: same key, valid signature, wrong iss", async (t) => {
    const otherIssuer = await buildTestApp(t, { DATABASE_URL: config.databaseUrl, TESSERA_KEK: config.kek!, TESSERA_ISSUER: "https://other.test" }, clock);
    const token = await issue(otherIssuer.app, owner);
    t.equal(decodeProtectedHeader(token).kid, serverKid, "signed by the shared key");
    t.equal(decodeJwt(token).iss, "https://other.test");
    await assertRejected(t, token);
    // Each server accepts its own tokens, and rejects the other's:
    const ours = await issue(app, owner);
    const theirs = await post(otherIssuer.app, "/introspect", owner, { token });
    t.equal(theirs.json().active, true, "the other issuer accepts its own token");
    const crossed = await post(otherIssuer.app, "/introspect", owner, { token: ours });
    t.equal(crossed.body, '{"active":false}', "and rejects ours");
  });
});

t.test("garbage", async (t) => {
  const real = await issue(app, owner);
  const cases: [string, string][] = [
    ["a word", "abc"],
    ["three dots", "a.b.c"],
    ["only dots", "..."],
    ["two segments", "a.b"],
    ["five segments (JWE-shaped)", "a.b.c.d.e"],
    ["a real token with a fourth segment", `${real}.x`],
    ["a real token with a space inside", `${real.slice(0, 20)} ${real.slice(20)}`],
    ["base64url JSON that is not an object", `${encodeJson("x")}.${encodeJson([1])}.${real.split(".")[2]}`],
    ["a header that is not JSON", `${base64url.encode("{not json")}.${encodeJson(claims())}.${real.split(".")[2]}`],
    ["JWS JSON serialisation", JSON.stringify({ payload: real.split(".")[1], protected: real.split(".")[0], signature: real.split(".")[2] })],
    ["an unknown refresh-token-shaped string", "A".repeat(43)],
    ["non-ASCII", "tøkén-ü-😀"],
    ["control characters", "a\u0000b\u0001c"],
    ["10 000 characters shaped like a JWS (over the parser's own limit)", `${"a".repeat(5000)}.${"b".repeat(4000)}.${"c".repeat(998)}`],
    ["16 384 characters, the longest the schema lets through", "x".repeat(16_384)],
  ];
  for (const [name, token] of cases) {
    t.test(name, async (t) => {
      await assertRejected(t, token);
    });
  }

  t.test("20 KB: refused as a parameter too long, 400 invalid_request (RFC 6749 §5.2)", async (t) => {
    const token = "a".repeat(20_000);
    for (const url of ["/introspect", "/revoke"]) {
      expectOAuthError(t, await post(app, url, owner, { token }), 400, "invalid_request");
    }
  });
});
