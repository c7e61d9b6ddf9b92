// signJwt signs with node:crypto; what it makes must be a JWS that jose verifies, for every alg, with
// the header and claims as given. importSigner refuses a key that does not fit the alg, publicJwk a
// key of a type it does not know.
import { generateKeyPairSync } from "node:crypto";
import t from "tap";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { SIGNING_ALGS } from "../../src/config/schema.js";
import { signJwt } from "../../src/crypto/jwt.js";
import { generateSigningKey, importSigner, publicJwk } from "../../src/crypto/keys.js";

const CLAIMS = { iss: "https://tessera.test", sub: "client-1", aud: ["https://a.test", "https://b.test"], scope: "read write", iat: 1_700_000_000, exp: 1_700_000_900, jti: "id-1" };

for (const alg of SIGNING_ALGS) {
  t.test(`${alg}: jose verifies the token, header and claims as given`, async (t) => {
    const key = await generateSigningKey(alg);
    const token = await signJwt(await importSigner(key.kid, alg, key.privatePkcs8), "at+jwt", CLAIMS);
    t.same(decodeProtectedHeader(token), { alg, typ: "at+jwt", kid: key.kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [key.publicJwk] }), {
      algorithms: [alg],
      typ: "at+jwt",
      currentDate: new Date(CLAIMS.iat * 1000),
    });
    t.same(payload, CLAIMS);

    const [header, , signature] = token.split(".");
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...CLAIMS, scope: "admin" })).toString("base64url")}.${signature}`;
    await t.rejects(jwtVerify(forged, createLocalJWKSet({ keys: [key.publicJwk] }), { currentDate: new Date(CLAIMS.iat * 1000) }), "a changed payload fails");
  });
}

t.test("importSigner refuses a key of another type than the alg needs", async (t) => {
  const ec = await generateSigningKey("ES256");
  await t.rejects(importSigner(ec.kid, "RS256", ec.privatePkcs8), { name: "TypeError", message: /is ec, not a key for RS256/ });
  const rsa = await generateSigningKey("RS256");
  await t.rejects(importSigner(rsa.kid, "EdDSA", rsa.privatePkcs8), { name: "TypeError" });
});

t.test("a signature that node:crypto cannot make rejects the promise with its error", async (t) => {
  // importSigner takes any RSA key for PS256; a 512-bit one is too short for PSS with a 32-byte salt.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 512 });
  const signer = await importSigner("short", "PS256", privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  await t.rejects(signJwt(signer, "at+jwt", CLAIMS), { message: /data too large for key size/ });
});

t.test("publicJwk keeps only the public members, and refuses a key type it has no list for", async (t) => {
  const { publicJwk: ec } = await generateSigningKey("ES256");
  t.same(Object.keys(publicJwk({ ...ec, d: "private" }, "k1", "ES256")).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
  // A symmetric key is all secret: nothing of it may be published.
  t.throws(() => publicJwk({ kty: "oct", k: "c2VjcmV0" }, "k2", "HS256"), { name: "TypeError", message: "unsupported key type oct" });
  t.throws(() => publicJwk({ k: "c2VjcmV0" }, "k3", "HS256"), { name: "TypeError", message: "unsupported key type undefined" });
});
