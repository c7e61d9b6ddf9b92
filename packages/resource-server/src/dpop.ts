// DPoP proofs at a resource server (RFC 9449 §4.3 and §7): the proof is a JWT signed by the key the
// access token is bound to (`cnf.jkt`), for this request (htm, htu), for this token (ath), fresh
// (iat) and used once (jti). Nonces (§9) are not asked for: a resource server may do without them.
import { createHash } from "node:crypto";
import { calculateJwkThumbprint, EmbeddedJWK, errors, jwtVerify, type JWK } from "jose";
import { AccessTokenError } from "./errors.js";

/** The request a proof must be for, as the client addressed it. */
export type DpopRequest = {
  /** The `DPoP` header's value; undefined when the request had none. */
  proof: string | undefined;
  /** The HTTP method (the proof's `htm`), e.g. "GET". */
  method: string;
  /** The request's absolute URL as the client used it; query and fragment are ignored (`htu`). */
  url: string;
};

export type DpopOptions = {
  /** Proof signing algorithms accepted (asymmetric only). */
  algorithms: string[];
  /** How old a proof's `iat` may be, in seconds. */
  maxAgeSeconds: number;
  /** Leeway for `iat` both ways, in seconds. */
  clockToleranceSeconds: number;
  replays: ReplayCache;
  now: () => number;
};

/** Every JWS algorithm jose verifies with a public key: what the DPoP challenge's `algs` lists by default. */
export const DEFAULT_DPOP_ALGORITHMS = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519"];

// A proof is a few hundred bytes (an RSA key makes it about 1 KiB); anything much larger is not one.
const MAX_PROOF_LENGTH = 8192;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const invalid = (description: string, cause?: unknown) => new AccessTokenError("invalid_dpop_proof", description, { cause });

/** RFC 3986 §6.2.2-6.2.3 normalisation (case, default port, dot segments), without query and fragment. */
function htuOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return null;
  }
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("base64url");

/**
 * Resolves when `dpop.proof` is a valid proof for `accessToken` bound to `jkt` and for this request;
 * rejects with invalid_dpop_proof otherwise. The proof's jti is remembered only when everything holds.
 */
export async function checkDpopProof(dpop: DpopRequest, accessToken: string, jkt: string, options: DpopOptions): Promise<void> {
  const { proof } = dpop;
  if (proof === undefined || proof === "") throw invalid("a DPoP proof is required (the DPoP header)");
  // Several DPoP headers reach Node as one value joined by ", ", which is no JWS (RFC 9449 §4.3 check 1).
  if (proof.length > MAX_PROOF_LENGTH || !JWS_COMPACT.test(proof)) throw invalid("the DPoP proof is not a single compact JWS");
  let payload: Record<string, unknown>;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: options.algorithms,
      requiredClaims: ["jti", "htm", "htu", "iat"],
      maxTokenAge: options.maxAgeSeconds,
      clockTolerance: options.clockToleranceSeconds,
      currentDate: new Date(options.now()),
    });
    payload = verified.payload;
    jwk = verified.protectedHeader.jwk!;
  } catch (error) {
    throw proofFailure(error);
  }
  const { jti, htm, htu, ath } = payload;
  if (typeof jti !== "string" || jti === "") throw invalid("the DPoP proof's jti is missing");
  if (htm !== dpop.method) throw invalid("the DPoP proof's htm is not this request's method");
  const expectedHtu = htuOf(dpop.url);
  if (typeof htu !== "string" || expectedHtu === null || htuOf(htu) !== expectedHtu) throw invalid("the DPoP proof's htu is not this request's URL");
  if (typeof ath !== "string" || ath !== sha256(accessToken)) throw invalid("the DPoP proof's ath is not the hash of this access token");
  if ((await calculateJwkThumbprint(jwk, "sha256")) !== jkt) throw invalid("the DPoP proof is not signed by the key the token is bound to");
  const expiresAtMs = ((payload.iat as number) + options.maxAgeSeconds + options.clockToleranceSeconds) * 1000;
  if (!options.replays.firstUse(`${jkt}.${jti}`, expiresAtMs)) throw invalid("the DPoP proof has been used before");
}

function proofFailure(error: unknown): AccessTokenError {
  if (error instanceof errors.JWTExpired) return invalid("the DPoP proof is too old (iat)", error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const description = error.claim === "typ" ? "the DPoP proof's typ is not dpop+jwt" : error.claim === "iat" ? "the DPoP proof's iat is not within the accepted window" : `the DPoP proof's ${error.claim} claim is missing or invalid`;
    return invalid(description, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("the DPoP proof's algorithm is not accepted", error);
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("the DPoP proof's signature is invalid", error);
  return invalid("the DPoP proof is malformed or its jwk is not a public key", error);
}

/**
 * The jtis of proofs seen in this process, each kept until its proof would be too old anyway; at most
 * `maxEntries`, the oldest dropped first (a proof dropped early could be replayed in its remaining
 * window: size it for the proofs a window brings). Not shared between processes.
 */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number) {
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** false when `id` was seen and has not expired; otherwise records it until `expiresAtMs`. */
  firstUse(id: string, expiresAtMs: number): boolean {
    const key = sha256(id); // a fixed size whatever the client sends
    const now = this.#now();
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    this.#seen.delete(key);
    // Entries are in insertion order, which is nearly expiry order: drop expired ones from the front.
    for (const [oldest, expiry] of this.#seen) {
      if (expiry > now && this.#seen.size < this.#maxEntries) break;
      this.#seen.delete(oldest);
    }
    this.#seen.set(key, expiresAtMs);
    return true;
  }
}
