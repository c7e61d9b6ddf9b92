// Refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2): opaque, stored as a keyed hash, rotated on every
// use within a family; presenting a used token again revokes the whole family, unless the request is
// concurrent with the rotation or a retry within REFRESH_REUSE_GRACE (see rotate).
import { randomUUID } from "node:crypto";
import { keyedDigest, randomToken } from "../../crypto/secrets.js";
import { InvalidClient, InvalidGrant } from "../../errors/oauth.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { FamilyRevocation, NewRefreshFamily, NewRefreshToken, RefreshFamilyRecord, RefreshTokenRecord, RefreshTokenRepository } from "../../storage/refresh-tokens.js";
import type { RevokedAccessTokenRepository } from "../../storage/revoked-access-tokens.js";
import type { Logger } from "../logger.js";
import type { UserView } from "../users/user-service.js";
import type { StatusListRegistry } from "./status-list-registry.js";
import { planAccessToken, signAccessToken, type AccessTokenDeps, type AccessTokenGrant, type AccessTokenPlan, type SignedAccessToken, type TokenResponse } from "./access-token.js";
import { signIdToken, wantsIdToken, type IdTokenContext } from "./id-token.js";

/**
 * Requests with one refresh token that begin less than this apart (by the clocks of the instances
 * that serve them) are concurrent: of those, the one that rotates the token wins, and the others get
 * invalid_grant without revoking anything. It covers a loser whose read reaches the database after
 * the winner's commit (queued behind it on a busy instance or pool); 2 s is also the Retry-After of a
 * 503, so a client retrying after an outage comes after it (and is theft, or a grace retry).
 */
export const CONCURRENT_USE_WINDOW_MS = 2000;

const CONCURRENT = "refresh token was rotated by a concurrent request";

// 32 random bytes in base64url: anything else cannot be ours, and needs no database round trip.
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export type RefreshTokenDeps = AccessTokenDeps & {
  repo: RefreshTokenRepository;
  blocklist: RevokedAccessTokenRepository;
  audit: AuditRepository;
  /** HMAC key for token digests, derived from the KEK (same on every instance) */
  digestKey: Buffer;
  log: Logger;
  /** told when a family's access tokens were blocklisted, so this instance's lists show it at once */
  statusLists: StatusListRegistry | null;
};

/** jkt: the request's DPoP key (RFC 9449): binds the access token, and a public client's family. */
export type Session = { grantType: string; client: ClientRecord; user: UserView; scope: string[]; audience: string | string[]; jkt?: string | null };

/**
 * A session by user id, optionally started under a grant and a browser session (the code flow), with
 * what its ID tokens say about the sign-in (`idToken`: the code flow, when the scope has openid).
 */
export type PlannedSession = Omit<Session, "user"> & { userId: string; grantId?: string | null; sessionId?: string | null; idToken?: IdTokenContext };

export type SessionPlan = {
  access: AccessTokenPlan;
  family: { record: NewRefreshFamily; first: NewRefreshToken } | null;
  /** signs the access token: call once what the plan holds is stored */
  issue(): Promise<TokenResponse>;
};

/** Who may rotate a family's token: returns the client, or throws when the caller is not entitled. */
export type FamilyCheck = (family: RefreshFamilyRecord) => ClientRecord;

/** What a refresh request may narrow for its access token (RFC 6749 §6, RFC 8707 §2.2). */
type Narrowing = {
  narrowScope?: ((scope: string[]) => string[]) | undefined;
  narrowAudience?: ((audience: string[]) => string | string[]) | undefined;
  /** the request's DPoP key: the new access token is bound to it */
  jkt: string | null;
};


export class RefreshTokenService {
  readonly #d: RefreshTokenDeps;

  constructor(deps: RefreshTokenDeps) {
    this.#d = deps;
  }

  /** Access token, plus the first refresh token of a new family when the client may refresh. */
  async startSession(session: Session): Promise<TokenResponse> {
    const planned = await this.planSession({ ...session, userId: session.user.id });
    // The client was deleted after it was looked up (a stale registry): nothing is signed.
    if (planned.family && !(await this.#d.repo.startFamily(planned.family.record, planned.family.first))) {
      throw new InvalidClient("the client is no longer registered");
    }
    return planned.issue();
  }

  /**
   * What a new session will issue, fixed before anything is written or signed: the access token's jti
   * and expiry and, when the client may refresh, the new family and its first token. The caller stores
   * the family (with its own write: an authorization code's exchange stores it as it consumes the
   * code), then calls issue(), which signs.
   */
  async planSession(session: PlannedSession): Promise<SessionPlan> {
    const jkt = session.jkt ?? null;
    const grant = { grantType: session.grantType, subject: session.userId, client: session.client, scope: session.scope, audience: session.audience, jkt };
    const access = await planAccessToken(this.#d, grant);
    const sign = async () => this.#withIdToken(await signAccessToken(this.#d, grant, access), grant, session.idToken ?? null);
    if (!session.client.grantTypes.includes("refresh_token")) {
      return { access, family: null, issue: async () => await sign() };
    }
    const now = this.#d.clock.now();
    const familyId = randomUUID();
    const familyExpiresAt = new Date(now + this.#d.config.refreshTokenTtlSeconds * 1000);
    const refreshToken = randomToken(32);
    const record = {
      id: familyId,
      clientId: session.client.id,
      userId: session.userId,
      createdAt: new Date(now),
      expiresAt: familyExpiresAt,
      viaLogin: session.grantType === "login",
      grantId: session.grantId ?? null,
      sessionId: session.sessionId ?? null,
      authTime: session.idToken?.authTime ?? null,
      // RFC 9449 §5: a public client's refresh tokens are bound to its key (a confidential client's
      // are bound to its authentication already, and it may present another key at each refresh).
      dpopJkt: session.client.public ? jkt : null,
    };
    return {
      access,
      family: { record, first: this.#record(refreshToken, familyId, familyExpiresAt, session, access, now) },
      issue: async () => ({ ...(await sign()), refresh_token: refreshToken }),
    };
  }

  /**
   * The answer, with an ID token when the sign-in has an ID-token context (the code flow) and this
   * access token's scope has openid (a refresh that narrows openid away gets none).
   */
  async #withIdToken(access: SignedAccessToken, grant: AccessTokenGrant, context: IdTokenContext | null): Promise<TokenResponse> {
    if (context === null || !wantsIdToken(grant.scope)) return access.response;
    const idToken = await signIdToken(access.signer, {
      issuer: this.#d.config.issuer,
      subject: grant.subject,
      clientId: grant.client.id,
      iat: access.iat,
      exp: Math.floor(access.expiresAtMs / 1000),
      accessToken: access.response.access_token,
      context,
    });
    return { ...access.response, id_token: idToken };
  }

  /**
   * Rotates `presented`: the old token dies and a new pair comes back. `requestedScope` may narrow
   * the access token's scope (RFC 6749 §6); the new refresh token keeps the family's scope.
   *
   * A token presented again after it was rotated (RFC 9700 §4.14.2, as node-oidc-provider and Hydra
   * implement it: a consumed token revokes its grant), where "now" is when this request began:
   * - less than CONCURRENT_USE_WINDOW_MS after the request that rotated it began: a concurrent request
   *   lost the race (two tabs refreshing at once, or a request that reached the database after the
   *   winner's commit). invalid_grant, and nothing is revoked: the winner's tokens stay valid.
   * - within REFRESH_REUSE_GRACE of the rotation, while its successor is unused: rotates again, as
   *   Hydra's rotation_grace_period does (a client retrying after a lost answer); the unused successor
   *   and its access token die, so the family keeps one live refresh token. A successor that another
   *   retry issued less than CONCURRENT_USE_WINDOW_MS ago is left alone: a concurrent loser, as above.
   * - otherwise: reuse. The family is revoked, its live access tokens blocklisted, and the event logged
   *   and audited; invalid_grant.
   */
  async rotate(
    presented: string,
    checkFamily: FamilyCheck,
    narrowScope?: (scope: string[]) => string[],
    narrowAudience?: (audience: string[]) => string | string[],
    jkt: string | null = null,
  ): Promise<TokenResponse> {
    // Taken before the token is read: the concurrency window counts from when each request began.
    const now = new Date(this.#d.clock.now());
    const token = await this.#find(presented);
    const client = checkFamily(token.family);
    if (token.usedAt) return this.#presentedAgain(token, token.usedAt, now, client, { narrowScope, narrowAudience, jkt });
    if (token.family.revokedAt || token.expiresAt <= now || token.family.expiresAt <= now) {
      throw new InvalidGrant("refresh token expired or revoked");
    }
    const next = await this.#successor(token, now, client, { narrowScope, narrowAudience, jkt });
    if (!(await this.#d.repo.rotateIfActive(token.digest, now, next.record))) {
      // A concurrent request with the same token won between our read and our write: not theft, and
      // the winner's session survives. A thief who wins this race is caught when the owner next
      // presents the rotated token (after the window).
      throw new InvalidGrant(CONCURRENT);
    }
    return next.issue();
  }

  async #presentedAgain(
    token: RefreshTokenRecord,
    usedAt: Date,
    now: Date,
    client: ClientRecord,
    narrow: Narrowing,
  ): Promise<TokenResponse> {
    const sinceRotationMs = now.getTime() - usedAt.getTime();
    if (sinceRotationMs < CONCURRENT_USE_WINDOW_MS) throw new InvalidGrant(CONCURRENT);
    const alive = !token.family.revokedAt && token.family.expiresAt > now;
    if (alive && sinceRotationMs < this.#d.config.refreshReuseGraceSeconds * 1000 && token.successorDigest) {
      const successor = await this.#d.repo.findByDigest(token.successorDigest);
      if (successor && !successor.usedAt) {
        // Issued only just now, by another retry of this token: this one is concurrent with that
        // retry. Replacing it again would kill the pair that retry's answer carries.
        if (now.getTime() - successor.issuedAt.getTime() < CONCURRENT_USE_WINDOW_MS) throw new InvalidGrant(CONCURRENT);
        const next = await this.#successor(token, now, client, narrow);
        if (await this.#d.repo.replaceUnusedSuccessor(token, now, next.record)) return next.issue();
        // The successor was used or replaced between our read and our write: a concurrent request.
        throw new InvalidGrant(CONCURRENT);
      }
      // Its successor was used (or replaced) only just now: concurrent with that rotation.
      if (successor?.usedAt && now.getTime() - successor.usedAt.getTime() < CONCURRENT_USE_WINDOW_MS) throw new InvalidGrant(CONCURRENT);
    }
    await this.#reuseDetected(token, "refresh token presented again after rotation");
    throw new InvalidGrant("refresh token is invalid");
  }

  /** The pair that replaces `token`: its stored record, and the answer, signed once it is stored. */
  async #successor(token: RefreshTokenRecord, now: Date, client: ClientRecord, { narrowScope, narrowAudience, jkt }: Narrowing) {
    // Before the token is consumed: a refused scope must leave it usable for a corrected retry.
    const scope = narrowScope ? narrowScope(token.scope) : token.scope;
    // Read with the token (one query): a disabled user's token is refused, and stays unconsumed.
    if (!token.family.userEnabled) throw new InvalidGrant("the user of this refresh token is disabled or gone");
    // Likewise a narrower audience (RFC 8707 §2.2), for this access token only.
    const audience = narrowAudience ? narrowAudience(token.audience) : token.audience.length === 1 ? token.audience[0]! : token.audience;
    const grant = { grantType: "refresh_token", subject: token.family.userId, client, scope, audience, jkt };
    // The access token's jti and expiry are fixed before it is signed, so that the old token's
    // consumption and the new token's row are written together, and the signature comes last.
    const plan = await planAccessToken(this.#d, grant);
    const refreshToken = randomToken(32);
    const record = this.#record(refreshToken, token.familyId, token.family.expiresAt, { scope: token.scope, audience: token.audience }, plan, now.getTime());
    return {
      record,
      issue: async (): Promise<TokenResponse> => {
        // OIDC Core §12.2: the same iss, sub and aud, the original auth_time, no nonce. Only families a
        // code started (they have a browser session) are OpenID sign-ins; a password-grant family is not.
        const family = token.family;
        const context = family.sessionId === null ? null : { authTime: family.authTime, nonce: null, sessionId: family.sessionId };
        const access = await signAccessToken(this.#d, grant, plan);
        return { ...(await this.#withIdToken(access, grant, context)), refresh_token: refreshToken };
      },
    };
  }

  /** Revokes a family known by id (see revokeFamily), e.g. the one a replayed authorization code started. */
  revokeFamilyById(familyId: string, reason: string): Promise<FamilyRevocation> {
    return this.#d.repo.revokeFamily(familyId, reason, new Date(this.#d.clock.now()));
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
  async revokeFamily(token: RefreshTokenRecord, reason: string): Promise<boolean> {
    const now = new Date(this.#d.clock.now());
    // One transaction, serialised against rotations (refresh-tokens.ts). On a family revoked already
    // it still blocklists any live access token that is not yet (a repair), and reports nothing.
    const { revoked, accessTokensRevoked } = await this.#d.repo.revokeFamily(token.familyId, reason, now);
    this.#d.statusLists?.changed(); // the blocklisted tokens' entries now read INVALID
    if (!revoked) return false;
    await this.#audit(reason === "reuse" ? "refresh_token.reuse" : "refresh_family.revoke", token, { reason, accessTokensRevoked });
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

  #audit(action: string, token: RefreshTokenRecord, details: Record<string, unknown>): Promise<void> {
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
    access: { jti: string; expiresAtMs: number; status: number | null },
    now = this.#d.clock.now(),
  ) {
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
      accessTokenStatus: access.status,
    };
  }
}
