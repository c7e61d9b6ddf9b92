// createVerifier against a real tessera over HTTP: discovery, its JWKS, and each RFC 9068 check.
import t, { type Test } from "tap";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { AccessTokenError, createVerifier } from "../src/index.js";
import { AUDIENCE, startTessera } from "./helpers/tessera.js";

t.test("createVerifier checks tessera's access tokens without Fastify", async (t) => {
  const tessera = await startTessera(t);
  const verifier = createVerifier({ issuer: tessera.issuer, audience: AUDIENCE });

  t.test("discovery finds tessera's metadata", async (t) => {
    const metadata = await verifier.ready();
    t.equal(metadata.issuer, tessera.issuer);
    t.equal(metadata.jwks_uri, `${tessera.issuer}/.well-known/jwks.json`);
  });

  t.test("a token from /token resolves to its claims", async (t) => {
    const token = await tessera.token({ scope: "read write" });
    const claims = await verifier.verify(token);
    t.equal(claims.iss, tessera.issuer);
    t.equal(claims.aud, AUDIENCE);
    t.equal(claims.scope, "read write");
    t.equal(claims.client_id, claims.sub);
    t.equal(claims.jti, decodeJwt(token).jti);
  });

  const refused = async (t: Test, promise: Promise<unknown>, description: string) => {
    const error = await promise.then(
      () => t.fail("verify resolved"),
      (e: unknown) => e,
    );
    t.ok(error instanceof AccessTokenError, "an AccessTokenError");
    t.match(error, { code: "invalid_token", status: 401, message: description });
  };

  t.test("a token for another audience is invalid_token", async (t) => {
    await refused(t, verifier.verify(await tessera.token({ audience: "https://other.example.test" })), "the token is not for this audience");
  });

  t.test("an expired token is invalid_token, within the clock tolerance it is not", async (t) => {
    const token = await tessera.token();
    const { exp } = decodeJwt(token) as { exp: number };
    const at = (seconds: number) => createVerifier({ issuer: tessera.issuer, audience: AUDIENCE, now: () => seconds * 1000 });
    t.equal((await at(exp + 4).verify(token)).exp, exp, "4 s after exp: within the default 5 s tolerance");
    await refused(t, at(exp + 6).verify(token), "the token has expired");
  });

  t.test("a token whose signature was tampered with is invalid_token", async (t) => {
    const token = await tessera.token();
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = { ...decodeJwt(token), scope: "read write admin" };
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    t.not(payload, forged.split(".")[1]);
    await refused(t, verifier.verify(forged), "the token's signature is invalid");
  });

  t.test("a token signed by another key under tessera's kid is invalid_token", async (t) => {
    const token = await tessera.token();
    const { kid, alg } = decodeProtectedHeader(token);
    const { privateKey } = await generateKeyPair(alg!);
    const forged = await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: alg!, kid: kid!, typ: "at+jwt" }).sign(privateKey);
    await refused(t, verifier.verify(forged), "the token's signature is invalid");
  });

  t.test("a token of another tessera (a kid this JWKS lacks) is invalid_token", async (t) => {
    const other = await startTessera(t);
    const token = await other.token();
    const forged = await new SignJWT({ ...decodeJwt(token), iss: tessera.issuer })
      .setProtectedHeader(decodeProtectedHeader(token) as { alg: string })
      .sign((await generateKeyPair(decodeProtectedHeader(token).alg!)).privateKey);
    await refused(t, verifier.verify(forged), "the token is signed by no key of the issuer");
    await refused(t, verifier.verify(token), "the token is signed by no key of the issuer");
  });

  t.test("something that is not a JWT is invalid_token", async (t) => {
    await refused(t, verifier.verify("not-a-jwt"), "the token is malformed");
    await refused(t, verifier.verify(""), "the token is empty");
  });

  t.test("the 'none' algorithm is refused", async (t) => {
    const claims = decodeJwt(await tessera.token());
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
    await refused(t, verifier.verify(unsigned), "the token's algorithm is not accepted");
  });
});

t.test("a verifier for an issuer that names itself differently never verifies", async (t) => {
  const tessera = await startTessera(t);
  const verifier = createVerifier({ issuer: `${tessera.issuer}/`, audience: AUDIENCE });
  await t.rejects(verifier.ready(), { code: "temporarily_unavailable", status: 503 });
  await t.rejects(verifier.verify(await tessera.token()), { code: "temporarily_unavailable", status: 503 });
});
