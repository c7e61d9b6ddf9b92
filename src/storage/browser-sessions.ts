// Browser sessions (the tessera_session cookie): stored only by the SHA-256 digest of the cookie value.
import type { Db } from "./prisma.js";

export type BrowserSessionRecord = {
  id: string;
  digest: string;
  userId: string;
  authTime: Date;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
};

export class BrowserSessionRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async create(session: Omit<BrowserSessionRecord, "endedAt">): Promise<BrowserSessionRecord> {
    return this.#db.browserSession.create({ data: session });
  }

  findByDigest(digest: string): Promise<BrowserSessionRecord | null> {
    return this.#db.browserSession.findUnique({ where: { digest } });
  }

  /** Moves lastSeenAt forward (never back: another instance may have moved it further). */
  async touch(id: string, at: Date): Promise<void> {
    await this.#db.browserSession.updateMany({ where: { id, lastSeenAt: { lt: at } }, data: { lastSeenAt: at } });
  }

  /** false when the session was already ended (or is gone). */
  async endIfActive(id: string, at: Date): Promise<boolean> {
    const { count } = await this.#db.browserSession.updateMany({ where: { id, endedAt: null }, data: { endedAt: at } });
    return count === 1;
  }

  /** Ends every live session of the user; returns how many it ended. */
  async endUserSessions(userId: string, at: Date): Promise<number> {
    const { count } = await this.#db.browserSession.updateMany({ where: { userId, endedAt: null }, data: { endedAt: at } });
    return count;
  }

  /** The user's sessions not ended and not past their absolute lifetime, oldest first. */
  listOpenOfUser(userId: string, now: Date): Promise<BrowserSessionRecord[]> {
    return this.#db.browserSession.findMany({ where: { userId, endedAt: null, expiresAt: { gt: now } }, orderBy: { createdAt: "asc" } });
  }
}
