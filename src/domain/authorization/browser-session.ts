// Browser sessions: who is signed in to tessera itself in this browser (the tessera_session cookie).
// The cookie holds a random 256-bit value; the database holds only its SHA-256 digest, so a copy of
// the table signs no one in. A session ends at its absolute lifetime (SESSION_TTL), after
// SESSION_IDLE_TTL without use, or when ended (sign-out, another sign-in, an administrator).
import { randomUUID } from "node:crypto";
import { randomToken, sha256 } from "../../crypto/secrets.js";
import type { BrowserSessionRecord, BrowserSessionRepository, BrowserSessionWithUser } from "../../storage/browser-sessions.js";
import type { GrantRecord } from "../../storage/grants.js";
import type { Clock } from "../clock.js";
import type { UserView } from "../users/user-service.js";

/** lastSeenAt is written at most this often per session: not one write per page view. */
export const TOUCH_INTERVAL_MS = 60_000;

export type BrowserSession = { id: string; userId: string; authTime: Date; createdAt: Date; lastSeenAt: Date; expiresAt: Date };

/** A live session with its user as stored now (enabled or not: the caller decides what a disabled one means). */
export type SignedInSession = BrowserSession & { user: UserView };

/** A live session with the user's grant to one client, read with it (revoked or not; null: none). */
export type SessionWithGrant = SignedInSession & { grant: { clientId: string; record: GrantRecord | null } };

export type BrowserSessionOptions = {
  repo: BrowserSessionRepository;
  clock: Clock;
  ttlSeconds: number;
  idleTtlSeconds: number;
};

const viewOf = ({ digest: _d, endedAt: _e, ...session }: BrowserSessionRecord): BrowserSession => session;

export class BrowserSessionService {
  readonly #repo: BrowserSessionRepository;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #idleMs: number;

  constructor(options: BrowserSessionOptions) {
    this.#repo = options.repo;
    this.#clock = options.clock;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#idleMs = options.idleTtlSeconds * 1000;
  }

  /** A new session for a user who just proved who they are; `cookie` goes to the browser only. */
  async start(user: UserView): Promise<{ cookie: string; session: SignedInSession }> {
    const userId = user.id;
    const cookie = randomToken(32);
    const now = new Date(this.#clock.now());
    const record = await this.#repo.create({
      id: randomUUID(),
      digest: sha256(cookie),
      userId,
      authTime: now,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.#ttlMs),
    });
    return { cookie, session: { ...viewOf(record), user } };
  }

  /**
   * The live session the cookie names, with its user (read in the same query), its lastSeenAt moved on
   * (at most once a minute); else null.
   */
  async resume(cookie: string | undefined): Promise<SignedInSession | null> {
    if (!cookie) return null;
    return this.#live(await this.#repo.findByDigest(sha256(cookie)));
  }

  /** resume, with the user's grant to `clientId` read in the same query (/authorize needs both). */
  async resumeWithGrant(cookie: string | undefined, clientId: string): Promise<SessionWithGrant | null> {
    if (!cookie) return null;
    const found = await this.#repo.findByDigestWithGrant(sha256(cookie), clientId);
    if (!found) return null;
    const { grant, ...rest } = found;
    const session = await this.#live(rest);
    return session && { ...session, grant: { clientId, record: grant } };
  }

  /** The session if it is live (lastSeenAt moved on at most once a minute); else null. */
  async #live(found: BrowserSessionWithUser | null): Promise<SignedInSession | null> {
    if (!found) return null;
    const { user, ...record } = found;
    const now = this.#clock.now();
    if (record.endedAt !== null || record.expiresAt.getTime() <= now) return null;
    if (now - record.lastSeenAt.getTime() >= this.#idleMs) return null;
    if (now - record.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      record.lastSeenAt = new Date(now);
      await this.#repo.touch(record.id, record.lastSeenAt);
    }
    return { ...viewOf(record), user };
  }

  /** Ends the session the cookie names, if any (sign in as someone else, a new sign-in). */
  async endByCookie(cookie: string | undefined): Promise<void> {
    if (!cookie) return;
    const record = await this.#repo.findByDigest(sha256(cookie));
    if (record) await this.#repo.endIfActive(record.id, new Date(this.#clock.now()));
  }

  /** The user's sessions that are still live, oldest first (administration). */
  async listOfUser(userId: string): Promise<BrowserSession[]> {
    const now = this.#clock.now();
    const open = await this.#repo.listOpenOfUser(userId, new Date(now));
    return open.filter((r) => now - r.lastSeenAt.getTime() < this.#idleMs).map(viewOf);
  }
}
