// Token Status List state (domain/tokens/status-index-allocator.ts has the design): the blocks of
// entries instances reserve, and what makes an entry INVALID — a blocklisted access token that
// recorded its entry (RevokedAccessToken.status), or a block invalidated with its client.
import { sqltag as sql } from "@prisma/client/runtime/client";
import { asDate } from "./direct-sql.js";
import { bumpVersion, readVersion } from "./cache-versions.js";
import { directSqlOf, type Db } from "./prisma.js";

export type NewStatusBlock = { slot: number; clientId: string; instanceId: string; reservedAt: Date; expiresBy: Date };

/** What the lists hold now: the entries and blocks that read INVALID, and how many lists exist. */
export type StatusListState = {
  version: number;
  /** entries (list × LIST_SIZE + idx) of revoked access tokens that have not expired */
  revoked: { status: number; expiresAt: Date }[];
  /** invalidated blocks whose tokens have not all expired */
  invalidated: { slot: number; expiresBy: Date }[];
  /** the highest slot ever reserved, -1 when none */
  maxSlot: number;
};

/**
 * The statement that bumps the status lists' change counter, in the same transaction as a write
 * that changes an entry; hand-written SQL for the direct-SQL transactions (refresh-tokens.ts).
 */
export const BUMP_STATUS_LISTS = sql`
  INSERT INTO "CacheVersion" ("name", "version") VALUES ('status_lists', 1)
  ON CONFLICT ("name") DO UPDATE SET "version" = "CacheVersion"."version" + 1`;

export class StatusListRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Reserves `block.slot` with one statement: a slot never used is inserted; a slot whose previous
   * block's tokens all expired by `reusableBefore` is taken over. false, and nothing written, when
   * the slot is still live (another instance holds it).
   */
  async reserve(block: NewStatusBlock, reusableBefore: Date): Promise<boolean> {
    const b = block;
    const changed = await directSqlOf(this.#db).changes(sql`
      INSERT INTO "StatusListBlock" ("slot", "clientId", "instanceId", "reservedAt", "expiresBy", "invalidatedAt")
      VALUES (${b.slot}, ${b.clientId}, ${b.instanceId}, ${b.reservedAt}, ${b.expiresBy}, NULL)
      ON CONFLICT ("slot") DO UPDATE SET "clientId" = excluded."clientId", "instanceId" = excluded."instanceId",
        "reservedAt" = excluded."reservedAt", "expiresBy" = excluded."expiresBy", "invalidatedAt" = NULL
      WHERE "StatusListBlock"."expiresBy" <= ${reusableBefore}`);
    return changed === 1;
  }

  /** The slots that cannot be reserved now: their block's tokens may live after `reusableBefore`. */
  async liveSlots(reusableBefore: Date): Promise<{ slot: number; expiresBy: Date }[]> {
    const rows = await this.#db.statusListBlock.findMany({ where: { expiresBy: { gt: reusableBefore } }, select: { slot: true, expiresBy: true } });
    return rows.map((r) => ({ slot: r.slot, expiresBy: asDate(r.expiresBy) }));
  }

  /** Invalidates the client's blocks whose tokens may still live; returns their slots. */
  async invalidateClient(clientId: string, now: Date): Promise<number[]> {
    const live = { clientId, expiresBy: { gt: now } };
    const [rows] = await this.#db.$transaction([
      this.#db.statusListBlock.findMany({ where: live, select: { slot: true } }),
      this.#db.statusListBlock.updateMany({ where: { ...live, invalidatedAt: null }, data: { invalidatedAt: now } }),
      bumpVersion(this.#db, "status_lists"),
    ]);
    return rows.map((r) => r.slot);
  }

  /** The highest slot ever reserved, -1 when none: one index lookup. */
  async maxSlot(): Promise<number> {
    return (await this.#db.statusListBlock.aggregate({ _max: { slot: true } }))._max.slot ?? -1;
  }

  async version(): Promise<number> {
    return readVersion(this.#db, "status_lists");
  }

  /** Everything the lists show at `now`; the version is read first, so a change after it shows next time. */
  async state(now: Date): Promise<StatusListState> {
    const version = await this.version();
    const [revoked, invalidated, maxSlot] = await Promise.all([
      this.#db.revokedAccessToken.findMany({ where: { status: { not: null }, expiresAt: { gt: now } }, select: { status: true, expiresAt: true } }),
      this.#db.statusListBlock.findMany({ where: { invalidatedAt: { not: null }, expiresBy: { gt: now } }, select: { slot: true, expiresBy: true } }),
      this.maxSlot(),
    ]);
    return {
      version,
      revoked: revoked.map((r) => ({ status: r.status!, expiresAt: asDate(r.expiresAt) })),
      invalidated: invalidated.map((b) => ({ slot: b.slot, expiresBy: asDate(b.expiresBy) })),
      maxSlot,
    };
  }
}
