// The Status List Tokens this instance serves (draft-ietf-oauth-status-list §5): one signed JWT per
// list, built from the database's state (storage/status-lists.ts), re-signed only when its bits
// change or it nears its exp, and kept in memory with its ETag and gzipped form. refresh() runs on
// the CACHE_REFRESH poller: it reads one counter, and the whole state only when the counter moved
// (a revocation anywhere) or an entry's token expired (its bit clears).
import { createHash } from "node:crypto";
import { constants, gzipSync } from "node:zlib";
import type { Config } from "../../config/schema.js";
import { signJwt } from "../../crypto/jwt.js";
import type { StatusListRepository, StatusListState } from "../../storage/status-lists.js";
import type { Clock } from "../clock.js";
import type { KeyRing } from "../keys/key-ring.js";
import { singleFlight } from "../poller.js";
import { STATUS_INVALID, StatusList } from "./status-list.js";
import { BLOCK_SIZE, idxOfEntry, LIST_SIZE, listOfEntry, listOfSlot, MAX_LISTS, type StatusIndexAllocator } from "./status-index-allocator.js";

export const STATUS_LIST_TYP = "statuslist+jwt";

/** A list ready to serve: the JWT, and its gzip encoding, each with a strong ETag. */
export type PublishedStatusList = { uri: string; jwt: string; etag: string; gzipped: Buffer; gzipEtag: string; expMs: number };

export type StatusListRegistryDeps = {
  config: Config;
  clock: Clock;
  keys: KeyRing;
  repo: StatusListRepository;
  /** told of invalidated blocks, so that it stops giving out their entries */
  allocator: StatusIndexAllocator;
};

/** The list's URI: the `uri` of the tokens' status claim and the `sub` of its Status List Token. */
export const statusListUri = (issuer: string, list: number) => `${issuer}/statuslists/${list}`;

/** A list is signed for an hour (or two ttl when longer), and re-signed halfway, changed or not. */
const validitySeconds = (config: Config) => Math.max(3600, 2 * config.statusListTtlSeconds);

const etagOf = (body: string | Buffer) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;

type Held = { bytes: Buffer; published: PublishedStatusList; resignAtMs: number };

export class StatusListRegistry {
  readonly #d: StatusListRegistryDeps;
  readonly #lists = new Map<number, Held>();
  #version = -1;
  /** when the state changes without the counter moving: the first entry whose token expires */
  #nextExpiryMs = Infinity;
  /** how many lists exist (0 … count − 1), as of the last read */
  #count = 0;
  /** this instance changed the state: rebuild before the next answer */
  #dirty = false;
  readonly #rebuild: () => Promise<void>;
  readonly #recount: () => Promise<void>;

  constructor(deps: StatusListRegistryDeps) {
    this.#d = deps;
    this.#rebuild = singleFlight(async () => {
      this.#dirty = false;
      await this.#apply(await this.#d.repo.state(new Date(this.#d.clock.now())));
    });
    this.#recount = singleFlight(async () => {
      const maxSlot = await this.#d.repo.maxSlot();
      if (maxSlot >= 0 && listOfSlot(maxSlot) >= this.#count) await this.#rebuild();
    });
  }

  /** The poller's task: rebuilds when anything changed, re-signs lists nearing their exp. */
  async refresh(): Promise<void> {
    const now = this.#d.clock.now();
    const resignDue = [...this.#lists.values()].some((held) => now >= held.resignAtMs);
    if (this.#dirty || resignDue || now >= this.#nextExpiryMs || (await this.#d.repo.version()) !== this.#version) await this.#rebuild();
  }

  /** Reads the whole state now (at start, and after a client was disabled or deleted here). */
  reload(): Promise<void> {
    return this.#rebuild();
  }

  /** This instance changed an entry: the next fetch (or poll) rebuilds first, so it shows at once. */
  changed(): void {
    this.#dirty = true;
  }

  /**
   * The list to serve, or null when there is no such list. A list another instance began since the
   * last read is found by one cheap query (single-flight, so a flood of unknown ids costs at most
   * one query in flight) and then a rebuild.
   */
  async published(list: number): Promise<PublishedStatusList | null> {
    if (!Number.isSafeInteger(list) || list < 0 || list >= MAX_LISTS) return null;
    if (this.#dirty) await this.#rebuild();
    if (list >= this.#count) await this.#recount();
    return this.#lists.get(list)?.published ?? null;
  }

  async #apply(state: StatusListState): Promise<void> {
    const lists: StatusList[] = [];
    const count = state.maxSlot < 0 ? 0 : listOfSlot(state.maxSlot) + 1;
    for (let list = 0; list < count; list++) lists.push(new StatusList(LIST_SIZE, 1));
    let nextExpiryMs = Infinity;
    const abandoned: number[] = [];
    for (const { slot, expiresBy } of state.invalidated) {
      abandoned.push(slot);
      nextExpiryMs = Math.min(nextExpiryMs, expiresBy.getTime());
      const list = lists[listOfSlot(slot)];
      const first = idxOfEntry(slot * BLOCK_SIZE);
      for (let idx = first; list && idx < first + BLOCK_SIZE; idx++) list.set(idx, STATUS_INVALID);
    }
    for (const { status, expiresAt } of state.revoked) {
      nextExpiryMs = Math.min(nextExpiryMs, expiresAt.getTime());
      lists[listOfEntry(status)]?.set(idxOfEntry(status), STATUS_INVALID);
    }
    this.#d.allocator.abandon(abandoned);
    const now = this.#d.clock.now();
    for (const [list, statusList] of lists.entries()) {
      const bytes = Buffer.from(statusList.toBytes());
      const held = this.#lists.get(list);
      if (held && held.bytes.equals(bytes) && now < held.resignAtMs) continue;
      const signed = await this.#sign(list, statusList, now);
      if (signed) this.#lists.set(list, { bytes, ...signed });
    }
    this.#version = state.version;
    this.#nextExpiryMs = nextExpiryMs;
    this.#count = count;
  }

  /** null when no key can sign now: the previous copy is kept (the poller tries again). */
  async #sign(list: number, statusList: StatusList, nowMs: number): Promise<Omit<Held, "bytes"> | null> {
    const { config, keys } = this.#d;
    const iat = Math.floor(nowMs / 1000);
    const validity = validitySeconds(config);
    const expMs = (iat + validity) * 1000;
    const signer = keys.signerFor(expMs) ?? (await keys.signerCovering(expMs));
    if (!signer) return null;
    const uri = statusListUri(config.issuer, list);
    const jwt = await signJwt(signer, STATUS_LIST_TYP, {
      iss: config.issuer,
      sub: uri,
      iat,
      exp: iat + validity,
      ttl: config.statusListTtlSeconds,
      status_list: { bits: 1, lst: statusList.encode() },
    });
    const gzipped = gzipSync(jwt, { level: constants.Z_BEST_COMPRESSION });
    const published = { uri, jwt, etag: etagOf(jwt), gzipped, gzipEtag: etagOf(gzipped), expMs };
    return { published, resignAtMs: (iat + validity / 2) * 1000 };
  }
}
