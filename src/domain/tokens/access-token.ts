// RFC 9068 JWT access tokens.
import { randomUUID } from "node:crypto";
import type { Config } from "../../config/schema.js";
import { signJwt } from "../../crypto/jwt.js";
import { TemporarilyUnavailable } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import { epochSeconds, type Clock } from "../clock.js";
import type { Signer } from "../../crypto/keys.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { Metrics } from "../metrics.js";
import { idxOfEntry, listOfEntry, type StatusIndexAllocator } from "./status-index-allocator.js";
import { statusListUri } from "./status-list-registry.js";

export const ACCESS_TOKEN_TYP = "at+jwt";

export type TokenResponse = {
  access_token: string;
  /** DPoP when the token is bound to a key (RFC 9449 §5) */
  token_type: "Bearer" | "DPoP";
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  /** OpenID Connect Core §3.1.3.3: with scope openid */
  id_token?: string;
};

export type AccessTokenDeps = {
  config: Config;
  clock: Clock;
  keys: KeyRing;
  metrics: Metrics;
  /** Token Status List entries (STATUS_LIST); null when off: tokens then carry no status claim */
  statusIndexes: StatusIndexAllocator | null;
};

export type AccessTokenGrant = {
  /** how the token was obtained, for metrics: a grant_type, or "login" */
  grantType: string;
  /** client_id for client credentials, the user id for user tokens */
  subject: string;
  client: ClientRecord;
  scope: string[];
  audience: string | string[];
  /** RFC 9449 §6.1: the JWK thumbprint of the DPoP key the token is bound to (`cnf.jkt`); absent: a bearer token */
  jkt?: string | null;
};

/**
 * A signed access token and the facts about it that revocation needs: `status` is its Token Status
 * List entry (list × 2^20 + idx; null when STATUS_LIST is off), to be recorded beside its jti.
 */
export type SignedAccessToken = { response: TokenResponse; jti: string; expiresAtMs: number; status: number | null; signer: Signer; iat: number };

/**
 * What the next access token for a grant will say about itself, fixed before it is signed: refresh
 * rotation stores its jti, expiry and status entry together with the new refresh token, then signs.
 */
export type AccessTokenPlan = { jti: string; iat: number; ttlSeconds: number; expiresAtMs: number; status: number | null };

/**
 * Throws temporarily_unavailable when no key can sign, before the caller writes anything. The status
 * entry comes from memory, except once per block of entries (status-index-allocator.ts).
 */
export async function planAccessToken(deps: AccessTokenDeps, grant: AccessTokenGrant): Promise<AccessTokenPlan> {
  if (!deps.keys.signer) throw new TemporarilyUnavailable("no active signing key");
  const ttlSeconds = grant.client.tokenTtlSeconds ?? deps.config.accessTokenTtlSeconds;
  const iat = epochSeconds(deps.clock);
  const expiresAtMs = (iat + ttlSeconds) * 1000;
  const status = deps.statusIndexes ? await deps.statusIndexes.take(grant.client.id, expiresAtMs) : null;
  return { jti: randomUUID(), iat, ttlSeconds, expiresAtMs, status };
}

/** The RFC 9068 token's `status` claim for an entry (draft-ietf-oauth-status-list §6.1). */
const statusClaim = (issuer: string, entry: number) => ({ status_list: { idx: idxOfEntry(entry), uri: statusListUri(issuer, listOfEntry(entry)) } });

export async function issueAccessToken(deps: AccessTokenDeps, grant: AccessTokenGrant): Promise<TokenResponse> {
  return (await signAccessToken(deps, grant)).response;
}

export async function signAccessToken(
  deps: AccessTokenDeps,
  grant: AccessTokenGrant,
  given?: AccessTokenPlan,
): Promise<SignedAccessToken> {
  const plan = given ?? (await planAccessToken(deps, grant));
  // No I/O while the key's stored tokensExpireBy covers this exp (nearly always: see key-ring.ts).
  const signer = deps.keys.signerFor(plan.expiresAtMs) ?? (await deps.keys.signerCovering(plan.expiresAtMs));
  if (!signer) throw new TemporarilyUnavailable("no active signing key");
  const { jti, iat, ttlSeconds, status } = plan;
  const scope = grant.scope.join(" ");
  const accessToken = await signJwt(signer, ACCESS_TOKEN_TYP, {
    iss: deps.config.issuer,
    sub: grant.subject,
    aud: grant.audience,
    client_id: grant.client.id,
    ...(scope && { scope }),
    iat,
    exp: iat + ttlSeconds,
    jti,
    ...(status !== null && { status: statusClaim(deps.config.issuer, status) }),
    ...(grant.jkt && { cnf: { jkt: grant.jkt } }),
  });
  deps.metrics.tokenIssued(grant.grantType, grant.client.id);
  return {
    response: { access_token: accessToken, token_type: grant.jkt ? "DPoP" : "Bearer", expires_in: ttlSeconds, ...(scope && { scope }) },
    jti,
    expiresAtMs: plan.expiresAtMs,
    status,
    signer,
    iat,
  };
}
