// DPoP proofs seen (RFC 9449 §11.1), by a digest of their key and jti, so that each is accepted once.
// Every DPoP request at /token records one, so where they are kept depends on the database:
// - PostgreSQL (several instances): the UsedDpopProof table, shared by every instance. One
//   hand-written statement on the driver (direct-sql.ts), a fraction of Prisma's create and its
//   unique-violation exception.
// - SQLite (one instance): in memory. A durable row cost ~60-75 µs of the event loop per proof (a
//   random B-tree insert, its index, and their WAL writes), more than the signature check itself:
//   DPoP /token went from 0.59x to 0.73x of Bearer /token without it (one server, alternating
//   loads). A restart forgets the proofs of the last minute; RFC 9449 §4.3 (12) weighs this check
//   "within a reasonable consideration of accuracy and resource utilization", and a replayed /token
//   proof gets a token bound to the same key, useless without its private key.
import { hash } from "node:crypto";
import { sqltag as sql } from "@prisma/client/runtime/client";
import type { DirectSql } from "./direct-sql.js";
import { directSqlOf, openedOf, type Db } from "./prisma.js";

export interface UsedDpopProofs {
  /** true the first time the key's `jti` is presented; false for a replay. Remembered until `expiresAt` at least. */
  useOnce(jkt: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** How many are remembered, expired ones included until they are dropped. */
  count(): Promise<number>;
}

/** Where this database keeps them (see the file's comment): chosen by sqlite/open.ts and postgresql/open.ts. */
export const usedDpopProofsFor = (db: Db, nowMs: () => number): UsedDpopProofs => openedOf(db).usedDpopProofs(nowMs);

/** The row id: SHA-256 of key and jti, so a long jti takes no more room than a short one. */
const proofDigest = (jkt: string, jti: string): Buffer => hash("sha256", `${jkt}:${jti}`, "buffer");

export class UsedDpopProofRepository implements UsedDpopProofs {
  readonly #db: Db;
  readonly #direct: DirectSql;

  constructor(db: Db) {
    this.#db = db;
    this.#direct = directSqlOf(db);
  }

  async useOnce(jkt: string, jti: string, expiresAt: Date): Promise<boolean> {
    const id = proofDigest(jkt, jti).toString("base64url");
    const inserted = await this.#direct.changes(sql`
      INSERT INTO "UsedDpopProof" ("id", "expiresAt") VALUES (${id}, ${expiresAt})
      ON CONFLICT ("id") DO NOTHING`);
    return inserted === 1;
  }

  async count(): Promise<number> {
    return await this.#db.usedDpopProof.count();
  }

  async pruneExpired(now: Date): Promise<number> {
    return (await this.#db.usedDpopProof.deleteMany({ where: { expiresAt: { lte: now } } })).count;
  }
}

/**
 * Proofs seen by this process, as the first 64 bits of their digest (a false "used before" needs a
 * 64-bit collision: about one in 10^13 requests with a million proofs remembered). Two generations:
 * a proof is looked for in both and added to the current one; once every proof in the previous one
 * has expired, it is dropped whole and the current one takes its place. So nothing is swept entry by
 * entry, the garbage collector never sees an entry (typed arrays), and a proof is remembered past its
 * expiry for at most one generation. (An expired entry refuses nothing: its proof's iat is out of the
 * window by then.)
 */
export class UsedDpopProofsInMemory implements UsedDpopProofs {
  readonly #nowMs: () => number;
  #current = new KeySet();
  #currentExpiresAt = 0;
  #previous = new KeySet();
  #previousExpiresAt = 0;

  constructor(nowMs: () => number) {
    this.#nowMs = nowMs;
  }

  async useOnce(jkt: string, jti: string, expiresAt: Date): Promise<boolean> {
    if (this.#previousExpiresAt <= this.#nowMs() && this.#current.size > 0) {
      this.#previous = this.#current;
      this.#previousExpiresAt = this.#currentExpiresAt;
      this.#current = new KeySet();
      this.#currentExpiresAt = 0;
    }
    const digest = proofDigest(jkt, jti);
    const high = digest.readUInt32BE(0);
    const low = digest.readUInt32BE(4);
    if (this.#previous.has(high, low) || !this.#current.add(high, low)) return false;
    this.#currentExpiresAt = Math.max(this.#currentExpiresAt, expiresAt.getTime());
    return true;
  }

  async count(): Promise<number> {
    return this.#current.size + this.#previous.size;
  }
}

/** A set of 64-bit keys as two 32-bit halves: open addressing, linear probing, doubled when half full. */
class KeySet {
  // Pairs (high, low); (0, 0) marks an empty slot, so the key (0, 0) is kept as (0, 1).
  #slots = new Uint32Array(2 * 1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(high: number, low: number): boolean {
    return !this.#isEmpty(this.#find(high, nonZero(high, low)));
  }

  /** Adds the key; false when it was there already. */
  add(high: number, low: number): boolean {
    low = nonZero(high, low);
    const at = this.#find(high, low);
    if (!this.#isEmpty(at)) return false;
    this.#put(at, high, low);
    if (++this.#size * 4 > this.#slots.length) this.#grow();
    return true;
  }

  /** Where the key's pair is, or the empty pair where it would go. */
  #find(high: number, low: number): number {
    const slots = this.#slots;
    const wrap = slots.length - 1; // slots.length is a power of two
    let at = (2 * low) & wrap;
    while (!((slots[at] === high && slots[at + 1] === low) || this.#isEmpty(at))) at = (at + 2) & wrap;
    return at;
  }

  #isEmpty(at: number): boolean {
    return this.#slots[at] === 0 && this.#slots[at + 1] === 0;
  }

  #put(at: number, high: number, low: number): void {
    this.#slots[at] = high;
    this.#slots[at + 1] = low;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(2 * old.length);
    for (let at = 0; at < old.length; at += 2) {
      if (old[at] !== 0 || old[at + 1] !== 0) this.#put(this.#find(old[at]!, old[at + 1]!), old[at]!, old[at + 1]!);
    }
  }
}

// Coverage: the key (0, 0) is a digest whose first 64 bits are zero, which no test can find an input for.
/* c8 ignore next */
const nonZero = (high: number, low: number): number => (high === 0 && low === 0 ? 1 : low);
