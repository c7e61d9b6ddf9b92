// Discovery (RFC 8414, an issuer with a path), the JWKS refetched on an unknown kid at most once
// per cooldown, and the RFC 9068 header and claim checks tessera's tokens cannot break on their own.
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import { AccessTokenError, createVerifier, metadataUrl } from "../src/index.js";
import { AUDIENCE, fetchCount, startIssuer } from "./helpers/issuer.js";

const JWKS = "/.well-known/jwks.json";

const refusedWith = async (t: Test, promise: Promise<unknown>, message: string) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof AccessTokenError, `refused: ${message}`);
  t.match(error, { code: "invalid_token", status: 401, message });
};

t.test("metadataUrl puts the well-known segment before the issuer's path (RFC 8414 §3)", async (t) => {
  t.equal(metadataUrl("https://as.example"), "https://as.example/.well-known/oauth-authorization-server");
  t.equal(metadataUrl("https://as.example/tenant/one"), "https://as.example/.well-known/oauth-authorization-server/tenant/one");
  t.equal(metadataUrl("https://as.example:8443/tenant/"), "https://as.example:8443/.well-known/oauth-authorization-server/tenant");
});

t.test("an issuer with a path is discovered at the RFC 8414 §3 location", async (t) => {
  const issuer = await startIssuer(t, { path: "/tenant" });
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
  t.equal((await verifier.verify(await issuer.sign())).iss, `${issuer.origin}/tenant`);
  t.equal(fetchCount(issuer, "/.well-known/oauth-authorization-server/tenant"), 1);
});

t.test("discovery and the JWKS are fetched once for many tokens", async (t) => {
  const issuer = await startIssuer(t);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
  const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.sign()));
  await Promise.all(tokens.map((token) => verifier.verify(token)));
  t.equal(fetchCount(issuer, "/.well-known/oauth-authorization-server"), 1);
  t.equal(fetchCount(issuer, JWKS), 1);
});

t.test("an unknown kid refetches the JWKS, at most once per cooldown", async (t) => {
  const issuer = await startIssuer(t);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, jwksCooldownSeconds: 2 });
  await verifier.verify(await issuer.sign());
  t.equal(fetchCount(issuer, JWKS), 1);

  const rotated = await issuer.newKey("key-2");
  issuer.keys.push(rotated);
  const fresh = await issuer.sign({}, { key: rotated });
  await refusedWith(t, verifier.verify(fresh), "the token is signed by no key of the issuer");
  t.equal(fetchCount(issuer, JWKS), 1, "within the cooldown the JWKS is not fetched again");

  await new Promise((resolve) => setTimeout(resolve, 2100));
  t.equal((await verifier.verify(fresh)).sub, "client-1", "after the cooldown the new key is found");
  t.equal(fetchCount(issuer, JWKS), 2);
  const unknown = await issuer.sign({}, { key: await issuer.newKey("key-3") });
  await refusedWith(t, verifier.verify(unknown), "the token is signed by no key of the issuer");
  await refusedWith(t, verifier.verify(unknown), "the token is signed by no key of the issuer");
  t.equal(fetchCount(issuer, JWKS), 2, "a flood of unknown kids right after a fetch makes no fetch");
});

t.test("RFC 9068 checks on the header and claims", async (t) => {
  const issuer = await startIssuer(t);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: [AUDIENCE, "https://second.example.test"] });
  t.equal((await verifier.verify(await issuer.sign({ aud: "https://second.example.test" }))).sub, "client-1", "any configured audience");
  t.equal((await verifier.verify(await issuer.sign({ aud: ["https://x.example", AUDIENCE] }))).sub, "client-1", "an aud array holding ours");
  await refusedWith(t, verifier.verify(await issuer.sign({}, { typ: "JWT" })), "the token is not an RFC 9068 access token (typ at+jwt)");
  // RFC 9068 §4 (and RFC 7515 §4.1.9): "application/at+jwt" is the same media type.
  t.equal((await verifier.verify(await issuer.sign({}, { typ: "application/at+jwt" }))).sub, "client-1", "typ application/at+jwt");
  await refusedWith(t, verifier.verify(await issuer.sign({ iss: "https://elsewhere.example" })), "the token is from another issuer");
  await refusedWith(t, verifier.verify(await issuer.sign({ aud: "https://x.example" })), "the token is not for this audience");
  await refusedWith(t, verifier.verify(await issuer.sign({ nbf: Math.floor(Date.now() / 1000) + 60 })), "the token is not valid yet");
  for (const claim of ["client_id", "jti", "sub", "iat"]) {
    await refusedWith(t, verifier.verify(await issuer.sign({ [claim]: undefined })), `the token's ${claim} claim is missing or invalid`);
  }
});

t.test("only the metadata's algorithms verify; symmetric ones never do", async (t) => {
  const issuer = await startIssuer(t);
  const onlyRs = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, algorithms: ["RS256"] });
  await refusedWith(t, onlyRs.verify(await issuer.sign()), "the token's algorithm is not accepted");
  const hmac = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, algorithms: ["HS256", "ES256"] });
  const token = await issuer.sign();
  t.equal((await hmac.verify(token)).jti, decodeJwt(token).jti, "ES256 still verifies; HS256 was dropped from the list");
});
