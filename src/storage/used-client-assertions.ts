// Client-assertion jti values seen, so that each assertion is accepted once, on any instance.
import { isUniqueViolation, type Db } from "./prisma.js";

export class UsedClientAssertionRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** true the first time `id` is presented; false for a replay (the primary key refuses it). */
  async useOnce(id: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.#db.usedClientAssertion.create({ data: { id, expiresAt } });
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async pruneExpired(now: Date): Promise<number> {
    return (await this.#db.usedClientAssertion.deleteMany({ where: { expiresAt: { lte: now } } })).count;
  }
}
