// Signing keys. Private keys arrive and leave sealed; this layer never sees them in clear.
// Every write bumps the "signing_keys" version so that all instances reload within a poll.
import { bumpVersion, readVersion } from "./cache-versions.js";
import { isUniqueViolation, type Db } from "./prisma.js";

export type SigningKeyRecord = {
  kid: string;
  generation: number;
  alg: string;
  publicJwk: string;
  privateKey: string;
  createdAt: Date;
  activatesAt: Date;
  retiredAt: Date | null;
};

export class SigningKeyRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Every stored key, oldest first. */
  listAll(): Promise<SigningKeyRecord[]> {
    return this.#db.signingKey.findMany({ orderBy: { generation: "asc" } });
  }

  /** The key with the highest generation, if any. */
  latest(): Promise<SigningKeyRecord | null> {
    return this.#db.signingKey.findFirst({ orderBy: { generation: "desc" } });
  }

  /**
   * Inserts the key of `key.generation`. false when that generation already exists: another instance
   * made the next key first, and the caller should use that one instead of adding a second.
   */
  async insertIfGenerationFree(key: SigningKeyRecord): Promise<boolean> {
    try {
      await this.#db.$transaction([this.#db.signingKey.create({ data: key }), bumpVersion(this.#db, "signing_keys")]);
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  /** Moves a key's activation (to now, for an early start). false when there is no such key. */
  async setActivatesAt(kid: string, at: Date): Promise<boolean> {
    const [{ count }] = await this.#db.$transaction([
      this.#db.signingKey.updateMany({ where: { kid, retiredAt: null }, data: { activatesAt: at } }),
      bumpVersion(this.#db, "signing_keys"),
    ]);
    return count === 1;
  }

  /** false when the key does not exist or was retired already. */
  async retire(kid: string, at: Date): Promise<boolean> {
    const [{ count }] = await this.#db.$transaction([
      this.#db.signingKey.updateMany({ where: { kid, retiredAt: null }, data: { retiredAt: at } }),
      bumpVersion(this.#db, "signing_keys"),
    ]);
    return count === 1;
  }

  async delete(kids: string[]): Promise<number> {
    if (kids.length === 0) return 0;
    const [{ count }] = await this.#db.$transaction([
      this.#db.signingKey.deleteMany({ where: { kid: { in: kids } } }),
      bumpVersion(this.#db, "signing_keys"),
    ]);
    return count;
  }

  version(): Promise<number> {
    return readVersion(this.#db, "signing_keys");
  }
}
