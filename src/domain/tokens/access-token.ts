// RFC 9068 JWT access tokens.
import { randomUUID } from "node:crypto";
import type { Config } from "../../config/schema.js";
import { signJwt } from "../../crypto/jwt.js";
import { TemporarilyUnavailable } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import { epochSeconds, type Clock } from "../clock.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { Metrics } from "../metrics.js";

export const ACCESS_TOKEN_TYP = "at+jwt";

export type TokenResponse = {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  scope?: string;
  refresh_token?: string;
};

export type AccessTokenDeps = { config: Config; clock: Clock; keys: KeyRing; metrics: Metrics };

export type AccessTokenGrant = {
  /** how the token was obtained, for metrics: a grant_type, or "login" */
  grantType: string;
  /** client_id for client credentials, the user id for user tokens */
  subject: string;
  client: ClientRecord;
  scope: string[];
  audience: string | string[];
};

/** A signed access token and the facts about it that revocation needs. */
export type SignedAccessToken = { response: TokenResponse; jti: string; expiresAtMs: number };

/**
 * What the next access token for a grant will say about itself, fixed before it is signed: refresh
 * rotation stores its jti and expiry together with the new refresh token, then signs.
 */
export type AccessTokenPlan = { jti: string; iat: number; ttlSeconds: number; expiresAtMs: number };

/** Throws temporarily_unavailable when no key can sign, before the caller writes anything. */
export function planAccessToken(deps: AccessTokenDeps, grant: AccessTokenGrant): AccessTokenPlan {
  if (!deps.keys.signer) throw new TemporarilyUnavailable("no active signing key");
  const ttlSeconds = grant.client.tokenTtlSeconds ?? deps.config.accessTokenTtlSeconds;
  const iat = epochSeconds(deps.clock);
  return { jti: randomUUID(), iat, ttlSeconds, expiresAtMs: (iat + ttlSeconds) * 1000 };
}

export async function issueAccessToken(deps: AccessTokenDeps, grant: AccessTokenGrant): Promise<TokenResponse> {
  return (await signAccessToken(deps, grant)).response;
}

export async function signAccessToken(
  deps: AccessTokenDeps,
  grant: AccessTokenGrant,
  plan: AccessTokenPlan = planAccessToken(deps, grant),
): Promise<SignedAccessToken> {
  // No I/O while the key's stored tokensExpireBy covers this exp (nearly always: see key-ring.ts).
  const signer = deps.keys.signerFor(plan.expiresAtMs) ?? (await deps.keys.signerCovering(plan.expiresAtMs));
  if (!signer) throw new TemporarilyUnavailable("no active signing key");
  const { jti, iat, ttlSeconds } = plan;
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
  });
  deps.metrics.tokenIssued(grant.grantType, grant.client.id);
  return {
    response: { access_token: accessToken, token_type: "Bearer", expires_in: ttlSeconds, ...(scope && { scope }) },
    jti,
    expiresAtMs: plan.expiresAtMs,
  };
}
