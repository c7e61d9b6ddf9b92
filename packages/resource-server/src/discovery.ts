// RFC 8414 discovery: where an issuer's metadata lives, and the fields a resource server uses.
import { AccessTokenError } from "./errors.js";
import { fetchBounded, type Fetch } from "./http.js";

const WELL_KNOWN = "/.well-known/oauth-authorization-server";
const MAX_METADATA_BYTES = 256 * 1024;

export type AuthorizationServerMetadata = {
  issuer: string;
  jwks_uri: string;
  /** Not in RFC 8414's registry, but what tessera (and others) publish for access tokens. */
  access_token_signing_alg_values_supported?: string[];
  [field: string]: unknown;
};

/**
 * RFC 8414 §3: the well-known segment goes between the host and the issuer's path, so
 * https://h/tenant is described at https://h/.well-known/oauth-authorization-server/tenant.
 */
export function metadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.origin}${WELL_KNOWN}${path}`;
}

const httpUrl = (value: unknown): value is string => {
  if (typeof value !== "string") return false;
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
};

export async function discover(issuer: string, fetch: Fetch, timeoutMs: number): Promise<AuthorizationServerMetadata> {
  const url = metadataUrl(issuer);
  const { status, body } = await fetchBounded(url, { fetch, accept: "application/json", maxBytes: MAX_METADATA_BYTES, timeoutMs });
  if (status !== 200) throw new AccessTokenError("temporarily_unavailable", `${url} answered ${status}`);
  let metadata: Partial<AuthorizationServerMetadata>;
  try {
    metadata = JSON.parse(body) as Partial<AuthorizationServerMetadata>;
  } catch (cause) {
    throw new AccessTokenError("temporarily_unavailable", `${url} did not answer JSON`, { cause });
  }
  // RFC 8414 §3.3: the issuer in the document must be the one asked about (no impersonation).
  if (metadata === null || typeof metadata !== "object" || metadata.issuer !== issuer) {
    throw new AccessTokenError("temporarily_unavailable", `${url} names another issuer than ${issuer}`);
  }
  if (!httpUrl(metadata.jwks_uri)) throw new AccessTokenError("temporarily_unavailable", `${url} has no http(s) jwks_uri`);
  return metadata as AuthorizationServerMetadata;
}
