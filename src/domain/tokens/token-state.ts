// What a presented token is and whether it is alive: shared by revocation (RFC 7009) and
// introspection (RFC 7662). Access tokens are recognised by signature, refresh tokens by lookup.
import type { Config } from "../../config/schema.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { RefreshTokenRecord } from "../../storage/refresh-tokens.js";
import type { RevokedAccessTokenRepository } from "../../storage/revoked-access-tokens.js";
import type { Clock } from "../clock.js";
import type { ClientRegistry } from "../clients/client-registry.js";
import type { KeyRing } from "../keys/key-ring.js";
import { ACCESS_TOKEN_TYP } from "./access-token.js";
import type { RefreshTokenService } from "./refresh-token-service.js";

export type TokenStateDeps = {
  config: Config;
  clock: Clock;
  keys: KeyRing;
  refreshTokens: RefreshTokenService;
  blocklist: RevokedAccessTokenRepository;
  /** a token lives only while its client is registered and enabled (checked in memory) */
  clients: ClientRegistry;
};

export type AccessTokenClaims = {
  iss: string;
  sub: string;
  aud: string | string[];
  client_id: string;
  scope?: string;
  iat: number;
  exp: number;
  jti: string;
  /** the Token Status List claim (draft-ietf-oauth-status-list §6.1), absent with STATUS_LIST=off */
  status?: unknown;
  /** RFC 9449 §6.1: the DPoP key a bound token is for (JWK SHA-256 thumbprint); absent on a bearer token */
  cnf?: { jkt: string };
};

export type FoundToken =
  | { type: "access_token"; clientId: string; audience: string[]; active: boolean; claims: AccessTokenClaims }
  | { type: "refresh_token"; clientId: string; audience: string[]; active: boolean; record: RefreshTokenRecord };

export type TokenTypeHint = "access_token" | "refresh_token";

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8192; // ours are ~1 KiB; anything much larger is not worth parsing

function isAccessTokenClaims(payload: Record<string, unknown>): payload is AccessTokenClaims {
  const { sub, client_id, jti, exp, iat } = payload;
  return typeof sub === "string" && typeof client_id === "string" && typeof jti === "string" && typeof exp === "number" && typeof iat === "number";
}

/** One of ours, signed by a published key, right typ and issuer, not expired; else null. */
export async function findAccessToken(deps: TokenStateDeps, token: string): Promise<FoundToken | null> {
  if (token.length > MAX_TOKEN_LENGTH || !JWS_COMPACT.test(token)) return null;
  let payload: Record<string, unknown>;
  try {
    payload = await deps.keys.jwks.verify(token, { issuer: deps.config.issuer, typ: ACCESS_TOKEN_TYP, now: new Date(deps.clock.now()) });
  } catch {
    return null; // bad signature, unknown kid, alg none/HMAC, wrong typ or issuer, expired, garbage
  }
  if (!isAccessTokenClaims(payload)) return null;
  // A disabled or deleted client's tokens die with it, on this instance at once and on the others
  // within CACHE_REFRESH (their registries reload); the blocklist is not asked about them.
  const active = clientEnabled(deps, payload.client_id) && !(await deps.blocklist.isRevoked(payload.jti));
  return { type: "access_token", clientId: payload.client_id, audience: [payload.aud].flat(), active, claims: payload };
}

async function findRefreshToken(deps: TokenStateDeps, token: string): Promise<FoundToken | null> {
  const record = await deps.refreshTokens.find(token);
  if (!record) return null;
  const active = deps.refreshTokens.isActive(record) && clientEnabled(deps, record.family.clientId);
  return { type: "refresh_token", clientId: record.family.clientId, audience: record.audience, active, record };
}

const clientEnabled = (deps: TokenStateDeps, clientId: string) => deps.clients.get(clientId)?.enabled === true;

/** The hint picks which kind is tried first; the other is tried too (RFC 7009 §2.1, RFC 7662 §2.1). */
export async function findToken(deps: TokenStateDeps, token: string, hint?: string): Promise<FoundToken | null> {
  const order = hint === "refresh_token" ? [findRefreshToken, findAccessToken] : [findAccessToken, findRefreshToken];
  for (const find of order) {
    const found = await find(deps, token);
    if (found) return found;
  }
  return null;
}

/**
 * Its own tokens, or, for a resource server (canIntrospect), access tokens for one of its audiences.
 * A refresh token is presented only to tessera, never to a resource server: only its client sees it.
 */
export function mayIntrospect(requester: ClientRecord, token: FoundToken): boolean {
  if (token.clientId === requester.id) return true;
  if (token.type === "refresh_token") return false;
  return requester.canIntrospect && token.audience.some((aud) => requester.audiences.includes(aud));
}
