// The test vectors the RFCs publish, against our own functions.
import t from "tap";
import { jwkThumbprint } from "../../src/crypto/keys.js";
import { isCodeVerifier, s256CodeChallenge } from "../../src/crypto/pkce.js";

t.test("RFC 7638 §3.1: the thumbprint of the example RSA key", async (t) => {
  const jwk = {
    kty: "RSA",
    n:
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs" +
      "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI" +
      "SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    e: "AQAB",
    alg: "RS256",
    kid: "2011-04-29",
  };
  t.equal(await jwkThumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  const { alg: _alg, kid: _kid, ...required } = jwk;
  t.equal(await jwkThumbprint(required), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "only the required members count");
});

t.test("RFC 7636 appendix B: the S256 challenge of the example verifier", async (t) => {
  const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  t.equal(s256CodeChallenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  t.ok(isCodeVerifier(verifier), "the example verifier is well formed");
});

t.test("RFC 7636 §4.1: a code_verifier is 43 to 128 unreserved characters", async (t) => {
  t.ok(isCodeVerifier("a".repeat(43)), "43 characters");
  t.ok(isCodeVerifier(`${"A".repeat(124)}-._~`), "128 characters, with every unreserved punctuation mark");
  t.notOk(isCodeVerifier("a".repeat(42)), "42 characters: too short");
  t.notOk(isCodeVerifier("a".repeat(129)), "129 characters: too long");
  t.notOk(isCodeVerifier(`${"a".repeat(42)}+`), "a character outside the unreserved set");
  t.notOk(isCodeVerifier(`${"a".repeat(42)}é`), "a non-ASCII character");
  t.notOk(isCodeVerifier(`${"a".repeat(43)}\n`), "a trailing newline");
});
