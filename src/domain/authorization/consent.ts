// Remembered consent (grants): what a user let a client do, so that /authorize asks only for more.
// Revoking a grant ends it and every token issued under it: the refresh families started from its
// codes (their live access tokens blocklisted), the access tokens of its codes, and its unused codes
// (an exchange checks the grant, authorization-codes.ts).
import { NotFoundError } from "../../errors/internal.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { AuthorizationCodeRepository } from "../../storage/authorization-codes.js";
import type { GrantRecord, GrantRepository, GrantSummary } from "../../storage/grants.js";
import type { RefreshTokenRepository } from "../../storage/refresh-tokens.js";
import type { Clock } from "../clock.js";

export type ConsentDeps = {
  grants: GrantRepository;
  codes: AuthorizationCodeRepository;
  refreshTokens: RefreshTokenRepository;
  audit: AuditRepository;
  clock: Clock;
};

export type Consent = { userId: string; clientId: string; scope: readonly string[]; audience: readonly string[] };

/** True when the live `grant` includes every scope and audience asked for (a request for more asks again). */
export function covers(grant: GrantRecord | null, scope: readonly string[], audience: readonly string[]): boolean {
  if (!grant || grant.revokedAt !== null) return false;
  return scope.every((s) => grant.scope.includes(s)) && audience.every((a) => grant.audience.includes(a));
}

/** What revoking a grant ended. */
export type GrantRevocation = { grantId: string; families: number; accessTokensRevoked: number };

export class ConsentService {
  readonly #d: ConsentDeps;

  constructor(deps: ConsentDeps) {
    this.#d = deps;
  }

  /** The user's live grant to the client; null when there is none or it was revoked. */
  async findGrant(userId: string, clientId: string): Promise<GrantRecord | null> {
    const grant = await this.#d.grants.findByUserAndClient(userId, clientId);
    return grant?.revokedAt === null ? grant : null;
  }

  /** Records (or widens) the user's consent to the client and returns the grant's id. */
  async recordConsent(consent: Consent, now = new Date(this.#d.clock.now())): Promise<string> {
    const grant = await this.#d.grants.recordConsent(
      { userId: consent.userId, clientId: consent.clientId, scope: [...consent.scope], audience: [...consent.audience] },
      now,
    );
    return grant.id;
  }

  /** The user's live grants, oldest first. */
  listOfUser(userId: string): Promise<GrantSummary[]> {
    return this.#d.grants.liveGrantsOfUser(userId);
  }

  /** Revokes the user's live grant to the client (see revoke). */
  async revokeFor(userId: string, clientId: string, actor: string): Promise<GrantRevocation> {
    const grant = await this.findGrant(userId, clientId);
    return this.#revoked(grant && (await this.revoke(grant, actor)), `no live grant of user ${userId} to client ${clientId}`);
  }

  /** Revokes the live grant `id` (see revoke); `userId`, when given, must be its user. */
  async revokeById(id: string, actor: string, userId?: string): Promise<GrantRevocation> {
    const grant = await this.#d.grants.findById(id);
    const live = grant?.revokedAt === null && (userId === undefined || grant.userId === userId) ? grant : null;
    return this.#revoked(live && (await this.revoke(live, actor)), `no live grant ${id}`);
  }

  #revoked(result: GrantRevocation | null, missing: string): GrantRevocation {
    if (!result) throw new NotFoundError(missing);
    return result;
  }

  /**
   * Ends the grant and what was issued under it. The grant goes first: an exchange that consumes a
   * code after that fails (it checks the grant, locking its row on PostgreSQL), and one that consumed
   * it before has its family written in the same transaction, so the sweep that follows finds it.
   * null when the grant was revoked already (by a concurrent call, which reports it).
   */
  async revoke(grant: GrantRecord, actor: string): Promise<GrantRevocation | null> {
    const now = new Date(this.#d.clock.now());
    if (!(await this.#d.grants.revoke(grant.id, now))) return null;
    const families = await this.#d.refreshTokens.revokeGrantFamilies(grant.id, "grant_revoked", now);
    const codeTokens = await this.#d.codes.blocklistAccessTokensOfGrant(grant.id, now);
    const result = { grantId: grant.id, families: families.families, accessTokensRevoked: families.accessTokensRevoked + codeTokens };
    await this.#d.audit.record({
      at: now,
      actor,
      action: "grant.revoke",
      target: `grant:${grant.id}`,
      details: { userId: grant.userId, clientId: grant.clientId, families: result.families, accessTokensRevoked: result.accessTokensRevoked },
    });
    return result;
  }
}
