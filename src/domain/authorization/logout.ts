// Ending a browser session (RP-initiated logout, /end-session): the session row ends, and so does
// what was issued in it: its refresh families (revoked, their access tokens blocklisted with their
// status-list entries, in one transaction) and the access tokens of its codes that started no family.
// Audited; the route clears the cookie.
import type { AuditRepository } from "../../storage/audit.js";
import type { AuthorizationCodeRepository } from "../../storage/authorization-codes.js";
import type { BrowserSessionRepository } from "../../storage/browser-sessions.js";
import type { RefreshTokenRepository } from "../../storage/refresh-tokens.js";
import type { Clock } from "../clock.js";
import type { StatusListRegistry } from "../tokens/status-list-registry.js";
import type { BrowserSession } from "./browser-session.js";

export type LogoutDeps = {
  clock: Clock;
  sessions: BrowserSessionRepository;
  refreshTokens: RefreshTokenRepository;
  codes: AuthorizationCodeRepository;
  audit: AuditRepository;
  /** this instance's lists, rebuilt at once; other instances see the bits within CACHE_REFRESH */
  statusLists: StatusListRegistry | null;
};

export type Logout = { sessionEnded: boolean; families: number; accessTokensRevoked: number };

export class LogoutService {
  readonly #d: LogoutDeps;

  constructor(deps: LogoutDeps) {
    this.#d = deps;
  }

  /** `clientId`: the application that asked (null when unknown); `confirmed`: the user confirmed on our page. */
  async endSession(session: BrowserSession, clientId: string | null, confirmed: boolean): Promise<Logout> {
    const now = new Date(this.#d.clock.now());
    // The session first: no new code can be issued in it after this (authorize resumes only live ones).
    const sessionEnded = await this.#d.sessions.endIfActive(session.id, now);
    const families = await this.#d.refreshTokens.revokeSessionFamilies(session.id, "logout", now);
    const codeTokens = await this.#d.codes.blocklistAccessTokensOfSession(session.id, now);
    this.#d.statusLists?.changed();
    const result = { sessionEnded, families: families.families, accessTokensRevoked: families.accessTokensRevoked + codeTokens };
    await this.#d.audit.record({
      at: now,
      actor: `user:${session.userId}`,
      action: "browser_session.logout",
      target: `browser_session:${session.id}`,
      details: { clientId, confirmed, ...result },
    });
    return result;
  }
}
