// Fetching and checking a Status List Token (draft-ietf-oauth-status-list §5): a JWT of type
// statuslist+jwt, signed by a key of the issuer's JWKS, whose `sub` is the URI it was fetched from.
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { AccessTokenError } from "./errors.js";
import { fetchBounded, type Fetch } from "./http.js";
import { decodeStatusList } from "./status-list.js";
import type { LoadedStatusList } from "./status-list-cache.js";

/** Largest inflated list (16 MiB: 2^27 entries of 1 bit). */
export const MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024;
/** Largest Status List Token read from the network (compressed lists are far smaller). */
const MAX_TOKEN_BYTES = 4 * 1024 * 1024;
const MEDIA_TYPE = "application/statuslist+jwt";

export type StatusListLoad = {
  issuer: string;
  jwks: JWTVerifyGetKey;
  algorithms: string[];
  fetch: Fetch;
  timeoutMs: number;
  now: () => number;
  clockTolerance: number;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  maxBytes: number;
};

const unusable = (uri: string, why: string, cause?: unknown) =>
  new AccessTokenError("temporarily_unavailable", `the status list ${uri} is unusable: ${why}`, { cause });

export async function loadStatusList(uri: string, load: StatusListLoad): Promise<LoadedStatusList> {
  const { status, contentType, body } = await fetchBounded(uri, {
    fetch: load.fetch,
    accept: MEDIA_TYPE,
    maxBytes: MAX_TOKEN_BYTES,
    timeoutMs: load.timeoutMs,
  });
  if (status !== 200) throw unusable(uri, `answered ${status}`);
  if (contentType !== MEDIA_TYPE) throw unusable(uri, `answered ${contentType || "no content type"}, not ${MEDIA_TYPE}`);
  const fetchedAt = load.now();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(body, load.jwks, {
      typ: "statuslist+jwt",
      subject: uri,
      algorithms: load.algorithms,
      clockTolerance: load.clockTolerance,
      requiredClaims: ["iat"],
      currentDate: new Date(fetchedAt),
    }));
  } catch (cause) {
    const why = cause instanceof errors.JOSEError ? cause.message : "not a verifiable JWT";
    throw unusable(uri, why, cause);
  }
  // `iss` is optional in a Status List Token (§5.1); when present it must be the token's issuer.
  if (payload.iss !== undefined && payload.iss !== load.issuer) throw unusable(uri, "signed for another issuer");
  let list;
  try {
    list = decodeStatusList(payload.status_list, load.maxBytes);
  } catch (cause) {
    throw unusable(uri, (cause as Error).message, cause);
  }
  const ttl = typeof payload.ttl === "number" && payload.ttl >= 0 ? payload.ttl : load.defaultTtlSeconds;
  let freshUntilMs = fetchedAt + Math.min(ttl, load.maxTtlSeconds) * 1000;
  if (typeof payload.exp === "number") freshUntilMs = Math.min(freshUntilMs, payload.exp * 1000);
  return { list, freshUntilMs };
}
