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
  /** No token signed with this key expires later (a lease: see domain/keys/key-ring.ts); null on keys
   *  stored before migration 0007, which recorded nothing. */
  tokensExpireBy: Date | null;
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

  /**
   * Raises the key's tokensExpireBy to `until` unless it is that late already; never lowers it, so
   * instances writing at once leave the latest of their bounds. Resolves to the stored bound after
   * the write, or null when the key no longer exists.
   */
  async raiseTokensExpireBy(kid: string, until: Date): Promise<Date | null> {
    const [{ count }] = await this.#db.$transaction([
      this.#db.signingKey.updateMany({ where: { kid, OR: [{ tokensExpireBy: null }, { tokensExpireBy: { lt: until } }] }, data: { tokensExpireBy: until } }),
      bumpVersion(this.#db, "signing_keys"),
    ]);
    if (count === 1) return until;
    const row = await this.#db.signingKey.findUnique({ where: { kid }, select: { tokensExpireBy: true } });
    return row ? row.tokensExpireBy : null;
  }

  /**
   * Deletes the given keys, except any whose tokensExpireBy is later than `latestBound`: a bound
   * raised since the caller read it (an instance still signing) keeps its key.
   */
  async delete(kids: string[], latestBound: Date): Promise<number> {
    if (kids.length === 0) return 0;
    const [{ count }] = await this.#db.$transaction([
      this.#db.signingKey.deleteMany({ where: { kid: { in: kids }, OR: [{ tokensExpireBy: null }, { tokensExpireBy: { lte: latestBound } }] } }),
      bumpVersion(this.#db, "signing_keys"),
    ]);
    return count;
  }

  version(): Promise<number> {
    return readVersion(this.#db, "signing_keys");
  }
}
