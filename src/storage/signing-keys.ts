// Signing keys and their states. Private keys arrive and leave sealed; this layer never sees them in clear.
import { bumpVersion, readVersion } from "./cache-versions.js";
import type { Db } from "./prisma.js";

export type KeyState = "pending" | "active" | "retired";

export type SigningKeyRecord = {
  kid: string;
  generation: number;
  alg: string;
  state: KeyState;
  publicJwk: string;
  privateKey: string;
  createdAt: Date;
  activatesAt: Date;
  retiredAt: Date | null;
};

const isUniqueViolation = (e: unknown) => (e as { code?: string } | null)?.code === "P2002";

export class SigningKeyRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Every key still in JWKS (pending, active, retired), oldest first. */
  async listAll(): Promise<SigningKeyRecord[]> {
    const rows = await this.#db.signingKey.findMany({ orderBy: { generation: "asc" } });
    return rows as SigningKeyRecord[];
  }

  async latestGeneration(): Promise<number> {
    const { _max } = await this.#db.signingKey.aggregate({ _max: { generation: true } });
    return _max.generation ?? 0;
  }

  /**
   * Inserts the key of `key.generation`. false when that generation already exists: another instance
   * made the next key first, and the caller should load that one instead of adding a second.
   */
  async insertIfGenerationFree(key: Omit<SigningKeyRecord, "createdAt">): Promise<boolean> {
    try {
      await this.#db.$transaction([this.#db.signingKey.create({ data: key }), bumpVersion(this.#db, "signing_keys")]);
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  version(): Promise<number> {
    return readVersion(this.#db, "signing_keys");
  }
}
