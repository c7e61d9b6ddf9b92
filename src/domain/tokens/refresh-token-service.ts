// Refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2): opaque, stored as a keyed hash, rotated on every
// use within a family; presenting a used token revokes the whole family.
import { randomUUID } from "node:crypto";
import { keyedDigest, randomToken } from "../../crypto/secrets.js";
import { InvalidGrant } from "../../errors/oauth.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { RefreshFamilyRecord, RefreshTokenRecord, RefreshTokenRepository } from "../../storage/refresh-tokens.js";
import type { RevokedAccessTokenRepository } from "../../storage/revoked-access-tokens.js";
import type { Logger } from "../logger.js";
import type { UserView } from "../users/user-service.js";
import { planAccessToken, signAccessToken, type AccessTokenDeps, type TokenResponse } from "./access-token.js";

// 32 random bytes in base64url: anything else cannot be ours, and needs no database round trip.
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export type RefreshTokenDeps = AccessTokenDeps & {
  repo: RefreshTokenRepository;
  blocklist: RevokedAccessTokenRepository;
  audit: AuditRepository;
  /** HMAC key for token digests, derived from the KEK (same on every instance) */
  digestKey: Buffer;
  log: Logger;
};

export type Session = { grantType: string; client: ClientRecord; user: UserView; scope: string[]; audience: string | string[] };

/** Who may rotate a family's token: returns the client, or throws when the caller is not entitled. */
export type FamilyCheck = (family: RefreshFamilyRecord) => ClientRecord;

/** What revoking a family needs to know of it: a token of it, or a family listed for its user. */
export type FamilyRef = Pick<RefreshTokenRecord, "familyId"> & { family: Pick<RefreshFamilyRecord, "clientId" | "userId"> };


export class RefreshTokenService {
  readonly #d: RefreshTokenDeps;

  constructor(deps: RefreshTokenDeps) {
    this.#d = deps;
  }

  /** Access token, plus the first refresh token of a new family when the client may refresh. */
  async startSession(session: Session): Promise<TokenResponse> {
    const access = await signAccessToken(this.#d, { subject: session.user.id, ...session });
    if (!session.client.grantTypes.includes("refresh_token")) return access.response;
    const now = this.#d.clock.now();
    const familyId = randomUUID();
    const familyExpiresAt = new Date(now + this.#d.config.refreshTokenTtlSeconds * 1000);
    const refreshToken = randomToken(32);
    await this.#d.repo.startFamily(
      {
        id: familyId,
        clientId: session.client.id,
        userId: session.user.id,
        createdAt: new Date(now),
        expiresAt: familyExpiresAt,
        viaLogin: session.grantType === "login",
      },
      this.#record(refreshToken, familyId, familyExpiresAt, session, access),
    );
    return { ...access.response, refresh_token: refreshToken };
  }

  /**
   * Rotates `presented`: the old token dies and a new pair comes back. `requestedScope` may narrow
   * the access token's scope (RFC 6749 §6); the new refresh token keeps the family's scope.
   */
  async rotate(presented: string, checkFamily: FamilyCheck, narrowScope?: (scope: string[]) => string[]): Promise<TokenResponse> {
    const token = await this.#find(presented);
    const client = checkFamily(token.family);
    const now = new Date(this.#d.clock.now());
    if (token.usedAt) {
      await this.#reuseDetected(token, "refresh token presented again after rotation");
      throw new InvalidGrant("refresh token is invalid");
    }
    if (token.family.revokedAt || token.expiresAt <= now || token.family.expiresAt <= now) {
      throw new InvalidGrant("refresh token expired or revoked");
    }
    // Before the token is consumed: a refused scope must leave it usable for a corrected retry.
    const scope = narrowScope ? narrowScope(token.scope) : token.scope;
    // Read with the token (one query): a disabled user's token is refused, and stays unconsumed.
    if (!token.family.userEnabled) throw new InvalidGrant("the user of this refresh token is disabled or gone");
    const audience = token.audience.length === 1 ? token.audience[0]! : token.audience;
    const grant = { grantType: "refresh_token", subject: token.family.userId, client, scope, audience };
    // The access token's jti and expiry are fixed before it is signed, so that the old token's
    // consumption and the new token's row are written together, and the signature comes last.
    const plan = planAccessToken(this.#d, grant);
    const refreshToken = randomToken(32);
    const successor = this.#record(refreshToken, token.familyId, token.family.expiresAt, { scope: token.scope, audience }, plan);
    if (!(await this.#d.repo.rotateIfActive(token.digest, now, successor))) {
      // A concurrent request with the same token won between our read and our write. Not treated as
      // theft: the token was valid when both read it, and the winner's session must survive. A thief
      // who wins this race is still caught when the owner next presents the rotated token.
      throw new InvalidGrant("refresh token is invalid");
    }
    const access = await signAccessToken(this.#d, grant, plan);
    return { ...access.response, refresh_token: refreshToken };
  }

  /** Ends the sign-in the token belongs to. Unknown or malformed tokens change nothing. */
  async revokeFamilyOf(presented: string, reason: string): Promise<boolean> {
    const token = await this.find(presented);
    return token ? this.revokeFamily(token, reason) : false;
  }

  /** The stored token, whatever its state; null for unknown or malformed ones. */
  async find(presented: string): Promise<RefreshTokenRecord | null> {
    if (!REFRESH_TOKEN_FORMAT.test(presented)) return null;
    return this.#d.repo.findByDigest(keyedDigest(this.#d.digestKey, presented));
  }

  /** Usable right now: never rotated, family alive, not expired, and its user still enabled. */
  isActive(token: RefreshTokenRecord): boolean {
    const now = this.#d.clock.now();
    const alive = !token.usedAt && !token.family.revokedAt && token.expiresAt.getTime() > now && token.family.expiresAt.getTime() > now;
    return alive && token.family.userEnabled;
  }

  /**
   * Revokes the token's family and blocklists the access tokens issued from it that still live
   * (RFC 9700 §4.14.2). false when it was revoked already.
   */
  async revokeFamily(token: FamilyRef, reason: string): Promise<boolean> {
    const now = new Date(this.#d.clock.now());
    if (!(await this.#d.repo.revokeFamily(token.familyId, reason, now))) return false;
    const live = await this.#d.repo.liveAccessTokens(token.familyId, now);
    await this.#d.blocklist.revoke(live.map((t) => ({ ...t, clientId: token.family.clientId })), now);
    await this.#audit(reason === "reuse" ? "refresh_token.reuse" : "refresh_family.revoke", token, { reason, accessTokensRevoked: live.length });
    return true;
  }

  async #find(presented: string): Promise<RefreshTokenRecord> {
    const token = await this.find(presented);
    if (!token) throw new InvalidGrant("refresh token is invalid");
    return token;
  }

  async #reuseDetected(token: RefreshTokenRecord, why: string): Promise<void> {
    // false: already revoked, and reported when it happened
    if (await this.revokeFamily(token, "reuse")) {
      this.#d.metrics.refreshReuseDetected();
      this.#d.log.warn({ familyId: token.familyId, clientId: token.family.clientId, userId: token.family.userId }, `refresh token reuse: ${why}; family revoked`);
    }
  }

  #audit(action: string, token: FamilyRef, details: Record<string, unknown>): Promise<void> {
    return this.#d.audit.record({
      at: new Date(this.#d.clock.now()),
      actor: `client:${token.family.clientId}`,
      action,
      target: `refresh_family:${token.familyId}`,
      details: { userId: token.family.userId, ...details },
    });
  }

  #record(
    refreshToken: string,
    familyId: string,
    familyExpiresAt: Date,
    session: Pick<Session, "scope" | "audience">,
    access: { jti: string; expiresAtMs: number },
  ) {
    const now = this.#d.clock.now();
    const idleExpiry = now + this.#d.config.refreshIdleTtlSeconds * 1000;
    return {
      digest: keyedDigest(this.#d.digestKey, refreshToken),
      familyId,
      scope: session.scope,
      audience: [session.audience].flat(),
      issuedAt: new Date(now),
      expiresAt: new Date(Math.min(idleExpiry, familyExpiresAt.getTime())),
      accessTokenJti: access.jti,
      accessTokenExpiresAt: new Date(access.expiresAtMs),
    };
  }
}
