// signJwt signs with node:crypto; what it makes must be a JWS that jose verifies, for every alg, with
// the header and claims as given. importSigner refuses a key that does not fit the alg.
import t from "tap";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { SIGNING_ALGS } from "../../src/config/schema.js";
import { signJwt } from "../../src/crypto/jwt.js";
import { generateSigningKey, importSigner } from "../../src/crypto/keys.js";

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
