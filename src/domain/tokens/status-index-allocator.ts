// Token Status List indexes for access tokens (draft-ietf-oauth-status-list), handed out without a
// database round trip per token.
//
// Design
// - Lists have a fixed size, LIST_SIZE = 2^20 entries of 1 bit (128 KiB raw; its `lst` is ~14.5 KB
//   at 1% revoked, ~150 bytes when nothing is). A list is cut into BLOCKS_PER_LIST blocks of
//   BLOCK_SIZE entries; slot s is block s % BLOCKS_PER_LIST of list ⌊s / BLOCKS_PER_LIST⌋, and entry
//   e (the number stored in the database) is idx e % LIST_SIZE of list ⌊e / LIST_SIZE⌋.
// - An instance reserves a block for one client at a time (a StatusListBlock row: one write per
//   block per instance per client) and gives its entries out in order from memory. Concurrent
//   requests wait for one reservation. The row's expiresBy is written once: no token issued from
//   the block may expire later, so a block is used for BLOCK_USE_SECONDS of tokens at most (or
//   until full, or until a client's token lifetime grows past it); then another is reserved.
// - No index goes to two unexpired tokens: a slot is reserved by one conditional write (insert, or
//   take-over of a row whose expiresBy has passed), so two instances never hold one block; within an
//   instance an entry is given once.
// - Reuse only after expiry plus skew: a slot can be taken over only when expiresBy + CLOCK_SKEW +
//   CACHE_REFRESH + STATUS_LIST_TTL has passed: the old tokens' bits (cleared from the lists once the
//   tokens expire) have then left every instance's copy (CACHE_REFRESH) and every resource server's
//   cache (STATUS_LIST_TTL), so a new token never starts out INVALID.
// - Roll-over: a reservation takes a free slot of the lowest list that has one, at random among its
//   free slots (so instances rarely collide; a collision costs one more write). A new list begins
//   only when every slot of the existing ones is live, and old lists fill again as their blocks
//   expire: the number of lists follows the number of live tokens, not time. Entries fit a 32-bit
//   column up to MAX_LISTS lists (2^31 entries).
// - Revocation without per-token rows: a revoked token's entry is stored with its blocklist row
//   (RevokedAccessToken.status; refresh tokens record their access token's entry as they record its
//   jti). A disabled or deleted client needs no list of its tokens: its blocks are per client, so
//   its live blocks are marked invalidated and every entry in them reads INVALID (entries not yet
//   given out too; the block is abandoned by the instances holding it when they learn of it).
// - Consequences: a client disabled and re-enabled within CACHE_REFRESH may get a few tokens from an
//   invalidated block (INVALID from the start, failing safe); an entry given out by an instance that
//   crashes is simply unused. Entries are cheap: a quiet client wastes most of a block, which
//   compresses to almost nothing.
import { TemporarilyUnavailable } from "../../errors/oauth.js";
import type { StatusListRepository } from "../../storage/status-lists.js";
import type { Clock } from "../clock.js";

export const LIST_SIZE = 2 ** 20;
export const BLOCK_SIZE = 1024;
export const BLOCKS_PER_LIST = LIST_SIZE / BLOCK_SIZE;
/** Lists whose entries still fit a signed 32-bit integer column. */
export const MAX_LISTS = 2048;
/** How long an instance keeps giving a block's entries to new tokens (5 min). */
export const BLOCK_USE_SECONDS = 300;

export type StatusIndexDeps = {
  repo: StatusListRepository;
  clock: Clock;
  /** who holds the blocks (informational: one id per running instance) */
  instanceId: string;
  /** seconds after a block's expiresBy before its slot may be reserved again (see the design) */
  reuseDelaySeconds: number;
};

type Block = { slot: number; next: number; end: number; expiresByMs: number };

export const listOfEntry = (entry: number) => Math.floor(entry / LIST_SIZE);
export const idxOfEntry = (entry: number) => entry % LIST_SIZE;
export const listOfSlot = (slot: number) => Math.floor(slot / BLOCKS_PER_LIST);

export class StatusIndexAllocator {
  readonly #d: StatusIndexDeps;
  /** the block each client's tokens take entries from on this instance */
  readonly #current = new Map<string, Block>();
  /** reservations in flight, by client: concurrent requests share one */
  readonly #reserving = new Map<string, Promise<void>>();
  /** slots believed live, each with when it can be reserved again (epoch ms): read at start and
   *  after a collision, plus this instance's own reservations */
  #live = new Map<number, number>();

  constructor(deps: StatusIndexDeps) {
    this.#d = deps;
  }

  /** Reads which slots are live; before the first reservation and after a collision. */
  async load(): Promise<void> {
    const live = await this.#d.repo.liveSlots(this.#reusableBefore());
    this.#live = new Map(live.map((b) => [b.slot, b.expiresBy.getTime() + this.#reuseDelayMs()]));
  }

  /** The entry for a new token of `clientId` that expires at `expiresAtMs`. */
  async take(clientId: string, expiresAtMs: number): Promise<number> {
    for (;;) {
      const block = this.#current.get(clientId);
      if (block && block.next < block.end && expiresAtMs <= block.expiresByMs) return block.next++;
      let reserving = this.#reserving.get(clientId);
      if (!reserving) {
        reserving = this.#reserve(clientId, expiresAtMs).finally(() => this.#reserving.delete(clientId));
        this.#reserving.set(clientId, reserving);
      }
      await reserving;
    }
  }

  /** Stops giving out entries of these slots (their client was disabled or deleted). */
  abandon(slots: Iterable<number>): void {
    const abandoned = new Set(slots);
    for (const [clientId, block] of this.#current) if (abandoned.has(block.slot)) this.#current.delete(clientId);
  }

  async #reserve(clientId: string, expiresAtMs: number): Promise<void> {
    const now = this.#d.clock.now();
    const expiresBy = Math.max(expiresAtMs, now) + BLOCK_USE_SECONDS * 1000;
    for (;;) {
      const slot = this.#freeSlot(now);
      this.#live.set(slot, expiresBy + this.#reuseDelayMs());
      const block = { slot, clientId, instanceId: this.#d.instanceId, reservedAt: new Date(now), expiresBy: new Date(expiresBy) };
      if (await this.#d.repo.reserve(block, this.#reusableBefore())) {
        const start = slot * BLOCK_SIZE;
        this.#current.set(clientId, { slot, next: start, end: start + BLOCK_SIZE, expiresByMs: expiresBy });
        return;
      }
      await this.load(); // another instance holds it: learn what else is taken, then try another
    }
  }

  /** A free slot of the lowest list that has one, at random among that list's free slots. */
  #freeSlot(now: number): number {
    for (let list = 0; list < MAX_LISTS; list++) {
      const first = list * BLOCKS_PER_LIST;
      const free: number[] = [];
      for (let slot = first; slot < first + BLOCKS_PER_LIST; slot++) if ((this.#live.get(slot) ?? 0) <= now) free.push(slot);
      if (free.length) return free[Math.floor(Math.random() * free.length)]!;
    }
    /* c8 ignore start -- 2^31 live entries: not reachable in a test (the span takes in the closing
       brace, which V8 counts in the same uncovered block) */
    throw new TemporarilyUnavailable("every status list entry is in use");
  }
  /* c8 ignore stop */

  #reuseDelayMs(): number {
    return this.#d.reuseDelaySeconds * 1000;
  }

  #reusableBefore(): Date {
    return new Date(this.#d.clock.now() - this.#reuseDelayMs());
  }
}
