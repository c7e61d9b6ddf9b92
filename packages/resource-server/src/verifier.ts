// createVerifier: checks an RFC 9068 access token the way a resource server must, without any web
// framework. Discovery (RFC 8414) happens once, on first use; the JWKS is jose's remote set
// (cached, refetched on an unknown kid at most once per cooldown); the token's status list entry
// (draft-ietf-oauth-status-list) is read from a list cached for its ttl. A DPoP-bound token
// (`cnf.jkt`, RFC 9449) is accepted only with a valid proof of its key (dpop.ts).
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from "jose";
import { discover, type AuthorizationServerMetadata } from "./discovery.js";
import { checkDpopProof, DEFAULT_DPOP_ALGORITHMS, ReplayCache, type DpopOptions, type DpopRequest } from "./dpop.js";
import { AccessTokenError } from "./errors.js";
import type { Fetch } from "./http.js";
import { StatusListCache } from "./status-list-cache.js";
import { loadStatusList, MAX_STATUS_LIST_BYTES } from "./status-list-token.js";

export type VerifierOptions = {
  /** The authorization server's issuer identifier, exactly as its metadata and tokens name it. */
  issuer: string;
  /** This resource server's identifier(s): the token's `aud` must hold one of them. */
  audience: string | string[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 5). */
  clockToleranceSeconds?: number;
  /** Signing algorithms accepted; default: the metadata's `access_token_signing_alg_values_supported`. */
  algorithms?: string[];
  /** After a token names an unknown kid, how long until the JWKS may be fetched again (default 30 s). */
  jwksCooldownSeconds?: number;
  /** How long a fetched JWKS is used before it is fetched again (default 600 s). */
  jwksCacheMaxAgeSeconds?: number;
  /** How long a status list without `ttl` is used (default 60 s). */
  statusListDefaultTtlSeconds?: number;
  /** Upper bound on any status list's `ttl` (default 3600 s); a list is never used past its `exp`. */
  statusListMaxTtlSeconds?: number;
  /** Largest inflated status list, in bytes (default 16 MiB). */
  statusListMaxBytes?: number;
  /** Refuse tokens without a `status.status_list` claim (default false: such tokens are only checked offline). */
  requireStatus?: boolean;
  /** Timeout of each fetch (metadata, JWKS, status list), in milliseconds (default 5000). */
  timeoutMs?: number;
  /** DPoP proof signing algorithms accepted (default: every asymmetric JWS algorithm; never none or HMAC). */
  dpopAlgorithms?: string[];
  /** How old a DPoP proof's `iat` may be, in seconds (default 60; clockToleranceSeconds applies on top). */
  dpopMaxAgeSeconds?: number;
  /**
   * How many DPoP proof jtis are remembered (default 100 000), each until its proof is too old anyway.
   * In this process only: several instances of an API do not see each other's proofs.
   */
  dpopReplayCacheSize?: number;
  /** The fetch to use (default: the global fetch). */
  fetch?: Fetch;
  /** Current time in milliseconds (default Date.now); for tests and replay. */
  now?: () => number;
};

/** The verified claims of an RFC 9068 access token. */
export type AccessTokenClaims = JWTPayload & {
  iss: string;
  sub: string;
  client_id: string;
  exp: number;
  iat: number;
  jti: string;
  scope?: string;
  status?: { status_list?: { idx: number; uri: string } };
  /** RFC 9449 §6.1: the thumbprint of the DPoP key a bound token is for */
  cnf?: { jkt?: string };
};

export type VerifyOptions = {
  /**
   * The token came with the DPoP scheme (`Authorization: DPoP <token>`): the request's proof, method
   * and URL. Without it the token came as a bearer token, and a DPoP-bound one is refused (RFC 9449 §7.2).
   */
  dpop?: DpopRequest;
};

export type Verifier = {
  /**
   * Resolves to the token's claims; rejects with an AccessTokenError naming the RFC 6750 code, or
   * RFC 9449's invalid_dpop_proof.
   */
  verify(token: string, options?: VerifyOptions): Promise<AccessTokenClaims>;
  /** The DPoP proof algorithms accepted, for the `algs` of a `WWW-Authenticate: DPoP` challenge (createVerifier sets it). */
  readonly dpopAlgorithms?: readonly string[];
  /** Discovers the metadata now (else the first verify does); rejects if it cannot be fetched. */
  ready(): Promise<AuthorizationServerMetadata>;
};

type Discovered = {
  metadata: AuthorizationServerMetadata;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  algorithms: string[];
};

// RFC 9068 §2.2: claims every access token carries (aud and iss are checked by value).
const REQUIRED_CLAIMS = ["exp", "iat", "sub", "client_id", "jti"];

// Only asymmetric algorithms make sense for a token checked with a published key.
const asymmetric = (alg: unknown): alg is string => typeof alg === "string" && alg !== "none" && !alg.startsWith("HS");
const DEFAULT_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];

export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = options.issuer;
  const issuerOrigin = new URL(issuer).origin;
  const issuerOriginSlash = `${issuerOrigin}/`;
  const audience = options.audience;
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const timeoutMs = options.timeoutMs ?? 5000;
  const fetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const requireStatus = options.requireStatus ?? false;
  const dpop: DpopOptions = {
    algorithms: (options.dpopAlgorithms ?? DEFAULT_DPOP_ALGORITHMS).filter(asymmetric),
    maxAgeSeconds: options.dpopMaxAgeSeconds ?? 60,
    clockToleranceSeconds: clockTolerance,
    replays: new ReplayCache(options.dpopReplayCacheSize ?? 100_000, now),
    now,
  };

  let discovered: Discovered | undefined;
  let discovering: Promise<Discovered> | undefined;
  const discovery = (): Discovered | Promise<Discovered> =>
    discovered ??
    (discovering ??= discover(issuer, fetch, timeoutMs).then(
      (metadata) => {
        const advertised = metadata.access_token_signing_alg_values_supported;
        discovered = {
          metadata,
          jwks: createRemoteJWKSet(new URL(metadata.jwks_uri), {
            cooldownDuration: (options.jwksCooldownSeconds ?? 30) * 1000,
            cacheMaxAge: (options.jwksCacheMaxAgeSeconds ?? 600) * 1000,
            timeoutDuration: timeoutMs,
            [customFetch]: fetch,
          }),
          algorithms: (options.algorithms ?? (Array.isArray(advertised) ? advertised : DEFAULT_ALGORITHMS)).filter(asymmetric),
        };
        return discovered;
      },
      (error: unknown) => {
        discovering = undefined; // the next verify tries again
        throw error;
      },
    ));

  const statusLists = new StatusListCache(
    async (uri) => {
      const { jwks, algorithms } = await discovery();
      return loadStatusList(uri, {
        issuer,
        jwks,
        algorithms,
        fetch,
        timeoutMs,
        now,
        clockTolerance,
        defaultTtlSeconds: options.statusListDefaultTtlSeconds ?? 60,
        maxTtlSeconds: options.statusListMaxTtlSeconds ?? 3600,
        maxBytes: options.statusListMaxBytes ?? MAX_STATUS_LIST_BYTES,
      });
    },
    now,
  );

  async function checkStatus(claims: AccessTokenClaims): Promise<void> {
    const reference = claims.status?.status_list;
    if (reference === undefined) {
      if (requireStatus) throw new AccessTokenError("invalid_token", "the token has no status list entry");
      return;
    }
    const { idx, uri } = reference as { idx?: unknown; uri?: unknown };
    if (typeof idx !== "number" || !Number.isSafeInteger(idx) || idx < 0 || typeof uri !== "string") {
      throw new AccessTokenError("invalid_token", "the token's status_list claim is malformed");
    }
    // Only the issuer's own origin is fetched: a token cannot make this server fetch anything else.
    // The prefix test is the per-request fast path (nothing but a path can follow "origin/"); a URI
    // spelled otherwise (say with an explicit default port) is parsed.
    if (!uri.startsWith(issuerOriginSlash) && originOf(uri) !== issuerOrigin) {
      throw new AccessTokenError("invalid_token", "the token's status list is not the issuer's");
    }
    const list = await statusLists.get(uri);
    const status = list.statusAt(idx);
    if (status === undefined) throw new AccessTokenError("invalid_token", "the token's status list index is out of range");
    if (status !== 0) throw new AccessTokenError("invalid_token", "the token has been revoked");
  }

  /** RFC 9449 §7.1-7.2: a bound token only with the DPoP scheme and its key's proof; the DPoP scheme only with a bound token. */
  async function checkBinding(token: string, claims: AccessTokenClaims, request: DpopRequest | undefined): Promise<void> {
    const jkt = claims.cnf?.jkt;
    if (request === undefined) {
      if (jkt !== undefined) throw new AccessTokenError("invalid_token", "the token is DPoP-bound: send it with Authorization: DPoP and a DPoP proof");
      return;
    }
    if (typeof jkt !== "string") throw new AccessTokenError("invalid_token", "the token is not DPoP-bound: send it with Authorization: Bearer");
    await checkDpopProof(request, token, jkt, dpop);
  }

  return {
    dpopAlgorithms: dpop.algorithms,
    async ready() {
      return (await discovery()).metadata;
    },
    async verify(token, verifyOptions = {}) {
      if (typeof token !== "string" || token === "") throw new AccessTokenError("invalid_token", "the token is empty");
      const { jwks, algorithms } = await discovery();
      let claims: AccessTokenClaims;
      try {
        ({ payload: claims } = (await jwtVerify(token, jwks, {
          issuer,
          audience,
          typ: "at+jwt",
          algorithms,
          clockTolerance,
          requiredClaims: REQUIRED_CLAIMS,
          currentDate: new Date(now()),
        })) as { payload: AccessTokenClaims });
      } catch (error) {
        throw joseFailure(error);
      }
      await checkBinding(token, claims, verifyOptions.dpop);
      await checkStatus(claims);
      return claims;
    },
  };
}

const originOf = (uri: string) => {
  try {
    return new URL(uri).origin;
  } catch {
    return "";
  }
};

const CLAIM_FAILURES: Record<string, string> = {
  aud: "the token is not for this audience",
  iss: "the token is from another issuer",
  typ: "the token is not an RFC 9068 access token (typ at+jwt)",
  nbf: "the token is not valid yet",
};

/** jose's error, as RFC 6750 says: the token's fault is invalid_token, a fetch's is not. */
function joseFailure(error: unknown): AccessTokenError {
  if (error instanceof AccessTokenError) return error;
  const failure = (description: string) => new AccessTokenError("invalid_token", description, { cause: error });
  if (error instanceof errors.JWTExpired) return failure("the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return failure(CLAIM_FAILURES[error.claim] ?? `the token's ${error.claim} claim is missing or invalid`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return failure("the token's signature is invalid");
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return failure("the token is signed by no key of the issuer");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return failure("the token's algorithm is not accepted");
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return failure("the token is malformed");
  }
  return new AccessTokenError("temporarily_unavailable", "the issuer's keys could not be fetched", { cause: error });
}
