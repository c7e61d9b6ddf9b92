// DPoP proofs (RFC 9449 §4): the checks of §4.3 that need only the proof and the request, in the
// RFC's order. Whether a proof was seen before, and the server's nonce, are the caller's
// (domain/tokens/dpop-proofs.ts): they need storage and a key.
//
// The signature is checked with node:crypto (on libuv's thread pool, as signJwt signs) rather than
// jose's WebCrypto verify: DPoP adds one verification to every /token request, and the event loop is
// what limits /token (see jwt.ts). The key is the proof's own `jwk` header, never one we hold.
import { constants, createPublicKey, verify, type KeyObject, type VerifyKeyObjectInput } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { InvalidDpopProof } from "../errors/oauth.js";
import { constantTimeEqual, sha256 } from "./secrets.js";

/** The proof algorithms accepted (and advertised as dpop_signing_alg_values_supported): asymmetric only. */
export const DPOP_SIGNING_ALGS = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519"] as const;
type DpopAlg = (typeof DPOP_SIGNING_ALGS)[number];

// A proof is a few hundred bytes (an RSA-4096 jwk makes ~1 KiB); anything far longer is not one.
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

// Members of a private or symmetric JWK (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

type Verification = { digest: string | null; options: Omit<VerifyKeyObjectInput, "key">; fits(key: KeyObject): boolean };
const ec = (digest: string, curve: string): Verification => ({
  digest,
  options: { dsaEncoding: "ieee-p1363" },
  fits: (key) => key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === curve,
});
// RFC 7518 §3.3, §3.5: RSA keys of 2048 bits or more.
const rsa = (digest: string, pss: boolean): Verification => ({
  digest,
  options: pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : { padding: constants.RSA_PKCS1_PADDING },
  fits: (key) => key.asymmetricKeyType === "rsa" && key.asymmetricKeyDetails!.modulusLength! >= 2048,
});
// The key type each alg needs: an ES256 signature by a P-384 key is refused, though node would check it.
const VERIFICATIONS: Record<DpopAlg, Verification> = {
  ES256: ec("sha256", "prime256v1"),
  ES384: ec("sha384", "secp384r1"),
  ES512: ec("sha512", "secp521r1"),
  PS256: rsa("sha256", true),
  PS384: rsa("sha384", true),
  PS512: rsa("sha512", true),
  RS256: rsa("sha256", false),
  RS384: rsa("sha384", false),
  RS512: rsa("sha512", false),
  EdDSA: { digest: null, options: {}, fits: (key) => key.asymmetricKeyType === "ed25519" || key.asymmetricKeyType === "ed448" },
  Ed25519: { digest: null, options: {}, fits: (key) => key.asymmetricKeyType === "ed25519" },
};

// RFC 7638 §3.2: the members of each key type that make its thumbprint, all required.
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = { EC: ["crv", "kty", "x", "y"], RSA: ["e", "kty", "n"], OKP: ["crv", "kty", "x"] };

export type DpopExpectation = {
  /** the request's method */
  htm: string;
  /** the request's URI (its query and fragment are ignored) */
  htu: string;
  /** the access token presented with the proof (a resource request): the proof's ath must be its hash */
  accessToken?: string;
};

export type DpopTime = { nowSeconds: number; maxAgeSeconds: number; skewSeconds: number };

export type VerifiedDpopProof = {
  /** the JWK SHA-256 thumbprint (RFC 7638) of the proof's key: what cnf.jkt binds to */
  jkt: string;
  jti: string;
  iat: number;
  nonce: string | undefined;
};

function fail(description: string): never {
  throw new InvalidDpopProof(description);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    return fail(`DPoP proof ${what} is not base64url JSON`);
  }
  return isObject(value) ? value : fail(`DPoP proof ${what} is not a JSON object`);
}

/**
 * The URI as RFC 3986 §6.2.2-6.2.3 normalises it (scheme and host in lower case, no default port,
 * dot segments resolved), without query and fragment (RFC 9449 §4.3 check 9). null: not an http(s) URI.
 */
function normaliseHtu(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

// The server's own URIs, normalised once: a handful (the token endpoint, /userinfo, an API's routes).
const normalisedEndpoints = new Map<string, string | null>();

function normalisedEndpoint(uri: string): string | null {
  let normalised = normalisedEndpoints.get(uri);
  if (normalised === undefined) {
    if (normalisedEndpoints.size >= 256) normalisedEndpoints.clear();
    normalised = normaliseHtu(uri);
    normalisedEndpoints.set(uri, normalised);
  }
  return normalised;
}

function importKey(jwk: Record<string, unknown>): KeyObject {
  try {
    return createPublicKey({ key: jwk as never, format: "jwk" });
  } catch {
    return fail("DPoP proof jwk is not a valid public key");
  }
}

async function publicKeyOf(header: Record<string, unknown>, alg: DpopAlg): Promise<{ key: KeyObject; jkt: string }> {
  const jwk = header.jwk;
  if (!isObject(jwk)) return fail("DPoP proof has no jwk header");
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) fail("DPoP proof jwk must be a public key, without private members");
  const members = THUMBPRINT_MEMBERS[jwk.kty as string];
  if (!members) return fail("DPoP proof jwk kty must be EC, RSA or OKP");
  if (!members.every((name) => typeof jwk[name] === "string")) fail("DPoP proof jwk lacks a member its kty requires");
  const key = importKey(jwk);
  if (!VERIFICATIONS[alg].fits(key)) fail(`DPoP proof jwk is not a key for ${alg}`);
  return { key, jkt: await calculateJwkThumbprint(jwk as JWK, "sha256") };
}

type CheckedHeader = { alg: DpopAlg; key: KeyObject; jkt: string };

/**
 * Headers that passed checks 4, 5 and 7, by their encoded form, with the key imported and its
 * thumbprint: a client sends the same header with every proof it signs with one key, and decoding it,
 * making a KeyObject from the JWK (about as much CPU as the verification) and the thumbprint's hash
 * are most of a proof's cost besides the signature. The same bytes decode to the same header, so a
 * header checked once passes again. Bounded; the oldest goes first.
 */
const checkedHeaders = new Map<string, CheckedHeader>();
export const MAX_CHECKED_HEADERS = 4096;

async function checkedHeader(encoded: string): Promise<CheckedHeader> {
  const cached = checkedHeaders.get(encoded);
  if (cached) return cached;
  const header = decodeJson(encoded, "header");
  // 4. typ
  if (header.typ !== "dpop+jwt") fail("DPoP proof typ must be dpop+jwt");
  // 5. an asymmetric alg we support; never none or HMAC
  const alg = header.alg as DpopAlg;
  if (typeof alg !== "string" || !(DPOP_SIGNING_ALGS as readonly string[]).includes(alg)) {
    fail(`DPoP proof alg must be one of ${DPOP_SIGNING_ALGS.join(" ")}`);
  }
  // RFC 7515 §4.1.11: no extension is understood here, so a proof that marks one critical is refused.
  if ("crit" in header) fail("DPoP proof has a crit header, which is not supported");
  // 7. (before 6: nothing is verified with a key that comes with its private part) a public jwk
  const checked = { alg, ...(await publicKeyOf(header, alg)) };
  if (checkedHeaders.size >= MAX_CHECKED_HEADERS) checkedHeaders.delete(checkedHeaders.keys().next().value!);
  checkedHeaders.set(encoded, checked);
  return checked;
}

function signatureValid(alg: DpopAlg, key: KeyObject, input: string, signature: string): Promise<boolean> {
  const { digest, options } = VERIFICATIONS[alg];
  // A signature of the wrong length, empty or huge, comes back as not valid (it does not throw).
  return new Promise((resolve) => {
    verify(digest, Buffer.from(input), { key, ...options }, Buffer.from(signature, "base64url"), (error, valid) => resolve(!error && valid));
  });
}

/**
 * Checks `proof` as RFC 9449 §4.3 says, except what needs state (one header, nonce, replay: see
 * DpopProofChecker). Throws InvalidDpopProof, naming the failed check, on the first failure.
 */
export async function verifyDpopProof(proof: string, expect: DpopExpectation, time: DpopTime): Promise<VerifiedDpopProof> {
  // 2. one well-formed JWT, compact JWS (a comma-joined pair of headers fails here too)
  const parts = proof.length <= MAX_PROOF_LENGTH ? COMPACT_JWS.exec(proof) : null;
  if (!parts) return fail("DPoP proof is not a single compact JWS");
  const [, encodedHeader, encodedPayload, signature] = parts as unknown as [string, string, string, string];
  // 4, 5, 7: typ, alg and a public jwk
  const { alg, key, jkt } = await checkedHeader(encodedHeader);
  const claims = decodeJson(encodedPayload, "payload");
  // 6. signed by that key
  if (!(await signatureValid(alg, key, `${encodedHeader}.${encodedPayload}`, signature))) fail("DPoP proof signature does not verify with its jwk");
  // 3. the claims of §4.2
  const { jti, htm, htu, iat, nonce, ath } = claims;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) fail(`DPoP proof jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
  if (typeof iat !== "number" || !Number.isFinite(iat)) fail("DPoP proof iat must be a number");
  if (nonce !== undefined && typeof nonce !== "string") fail("DPoP proof nonce must be a string");
  // 8. htm
  if (htm !== expect.htm) fail(`DPoP proof htm must be ${expect.htm}`);
  // 9. htu, without query and fragment, after syntax- and scheme-based normalisation
  // (A claim spelled as the normalised URI, the usual case, needs no parsing.)
  const expected = normalisedEndpoint(expect.htu);
  if (expected === null || (htu !== expected && (typeof htu !== "string" || normaliseHtu(htu) !== expected))) {
    fail(`DPoP proof htu must be ${expected ?? expect.htu}`);
  }
  // 11. iat within the window (10, the nonce, is the caller's)
  const { nowSeconds, maxAgeSeconds, skewSeconds } = time;
  if (iat < nowSeconds - maxAgeSeconds - skewSeconds) fail("DPoP proof is too old (iat)");
  if (iat > nowSeconds + skewSeconds) fail("DPoP proof iat is in the future");
  // 12. ath, when the proof comes with an access token
  if (expect.accessToken !== undefined && (typeof ath !== "string" || !constantTimeEqual(ath, sha256(expect.accessToken)))) {
    fail("DPoP proof ath does not match the access token");
  }
  return { jkt, jti, iat, nonce };
}
