// The signing keys in memory: the signer for new tokens, the JWKS (serialised once per change of the
// published set) and a verifier over it. Reloaded from the database when its version counter moves,
// and re-evaluated on every poll, since states change with time alone (key-states.ts). Reloads are
// single-flight and never go back to a lower version (cache-versions.ts).
//
// How long a retired key stays published comes from its stored tokensExpireBy, a lease: no instance
// signs a token with key K whose exp is later than a K.tokensExpireBy it has seen stored (read from
// the row, or written by itself and committed). Before signing past it, an instance raises the stored
// value (a conditional update that only raises, so concurrent writers leave the largest) and bumps
// the key version, so the others reload it within a poll. Why this holds with several instances, and
// across lowered lifetimes, deleted clients and other environments: every token's exp is at most a
// committed bound; bounds never decrease; a key is unpublished (and may be pruned) only once that
// bound plus clock skew has passed, and the prune's delete re-checks it. No instance needs to know
// another's lifetimes or clock; an instance that has not yet noticed a retirement keeps signing only
// inside a bound it stored itself. The only gap is an instance that learns of another's raise one
// poll late (CACHE_REFRESH), far shorter than the LEASE_AHEAD_SECONDS margin each raise adds.
//
// The hot path makes no write per token: each raise adds LEASE_AHEAD_SECONDS beyond what was needed,
// and every poll keeps the signing key's bound that far ahead of the longest lifetime configured now,
// so a request waits for a write only when a lifetime grew or a new key just took over (one write per
// instance, shared by the requests that arrive meanwhile). The price: a retired key may stay in the
// JWKS up to LEASE_AHEAD_SECONDS longer than its last token needs; and while the database is away
// an instance keeps signing for at least LEASE_AHEAD_SECONDS / 2 past its last successful poll.
import type { JWK } from "jose";
import type { SigningAlg } from "../../config/schema.js";
import { open } from "../../crypto/kek.js";
import { jwtVerifier, type JwtVerifier } from "../../crypto/jwt.js";
import { importSigner, type Signer } from "../../crypto/keys.js";
import { sha256 } from "../../crypto/secrets.js";
import type { SigningKeyRecord, SigningKeyRepository } from "../../storage/signing-keys.js";
import type { Clock } from "../clock.js";
import { singleFlight } from "../poller.js";
import { keyStatuses, type KeyStatus } from "./key-states.js";

export type Jwks = { body: string; etag: string; kids: string[]; verify: JwtVerifier };

export type KeyRingOptions = {
  repo: SigningKeyRepository;
  kek: Buffer;
  clock: Clock;
  /** CLOCK_SKEW: a retired key stays published this long after its last token expires */
  clockSkewSeconds: number;
  /**
   * The longest access-token lifetime under today's settings: how far ahead polls keep the signing
   * key's bound, and (plus skew) the linger of keys stored before migration 0007. Never what decides
   * when a key with a stored bound leaves the JWKS.
   */
  tokenLifetimeSeconds: () => number;
};

/** Margin added to every raise of a key's tokensExpireBy: at most one write per this long per instance. */
export const LEASE_AHEAD_SECONDS = 300;
const LEASE_AHEAD_MS = LEASE_AHEAD_SECONDS * 1000;

export class KeyRing {
  readonly #o: KeyRingOptions;
  #records: SigningKeyRecord[] = [];
  #version = -1;
  #forceReload = false;
  readonly #reload = singleFlight(() => this.#load());
  #statuses: KeyStatus[] = [];
  #signer: Signer | null = null;
  #jwks: Jwks = jwksOf([]);
  /** per kid: the latest tokensExpireBy known to be stored (read, or written by this instance) */
  readonly #storedBoundMs = new Map<string, number>();
  /** the raise in flight, if any: requests that need one share it */
  #raising: Promise<boolean> | null = null;

  constructor(options: KeyRingOptions) {
    this.#o = options;
  }

  /** The key that signs now (whatever its alg: one active key at a time); null when none is active. */
  get signer(): Signer | null {
    return this.#signer;
  }

  get jwks(): Jwks {
    return this.#jwks;
  }

  get statuses(): readonly KeyStatus[] {
    return this.#statuses;
  }

  /**
   * The signer for a token that expires at `expMs`, when the stored bound covers it already: no I/O.
   * null means ask signerCovering().
   */
  signerFor(expMs: number): Signer | null {
    const signer = this.#signer;
    return signer && expMs <= this.#boundOf(signer.kid) ? signer : null;
  }

  /**
   * The signer for a token that expires at `expMs`, after raising the key's stored tokensExpireBy
   * when it does not cover that yet. null when no key is active. Throws when the database does.
   */
  async signerCovering(expMs: number): Promise<Signer | null> {
    // Each pass either returns, or waits for a write (its own or a shared one) that raised the
    // bound, or reloads after the key was deleted: a few passes always settle it.
    for (let pass = 0; pass < 8; pass++) {
      const signer = this.#signer;
      if (!signer) return null;
      if (expMs <= this.#boundOf(signer.kid)) return signer;
      if (!(await this.#raise(signer.kid, expMs + LEASE_AHEAD_MS))) await this.refresh(true); // deleted meanwhile
    }
    /* c8 ignore start */
    // Coverage: a bound on the loop, not a path; reaching it takes eight keys deleted or raised by
    // other instances between this one's reads, which no test can order. The span takes in these
    // comments and the closing brace: V8 counts all that follows the loop as one uncovered block.
    throw new Error("could not record the expiry of a token about to be signed");
  }
  /* c8 ignore stop */

  /**
   * Reloads the rows when the stored version is newer (or when forced), re-evaluates states and keeps
   * the signing key's bound ahead. Resolves once a reload that started after this call is done.
   */
  refresh(force = false): Promise<void> {
    if (force) this.#forceReload = true;
    return this.#reload();
  }

  async #load(): Promise<void> {
    const force = this.#forceReload;
    this.#forceReload = false;
    const version = await this.#o.repo.version();
    // A lower version than the one held is a stale answer: never applied, even when forced.
    if (force ? version >= this.#version : version > this.#version) {
      const records = await this.#o.repo.listAll();
      // Open the newest key even when it is not ours to sign with: a wrong KEK must stop the start
      // (KeyDecryptionError), before it could lead to a second key only this instance can open.
      const newest = records.at(-1);
      if (newest) open(this.#o.kek, newest.privateKey, newest.kid);
      this.#records = records;
      this.#version = version;
      for (const kid of [...this.#storedBoundMs.keys()]) if (!records.some((k) => k.kid === kid)) this.#storedBoundMs.delete(kid);
      for (const k of records) if (k.tokensExpireBy) this.#noteBound(k.kid, k.tokensExpireBy.getTime());
    }
    await this.#evaluate();
    const signer = this.#signer;
    if (signer) {
      const lifetimeMs = this.#o.tokenLifetimeSeconds() * 1000;
      const now = this.#o.clock.now();
      if (this.#boundOf(signer.kid) < now + lifetimeMs + LEASE_AHEAD_MS / 2) await this.#raise(signer.kid, now + lifetimeMs + LEASE_AHEAD_MS);
    }
  }

  async #evaluate(): Promise<void> {
    const statuses = keyStatuses(this.#records, this.#o.clock.now(), this.#rule());
    const active = statuses.find((s) => s.state === "active")?.key;
    if (active?.kid !== this.#signer?.kid) {
      // The alg column is free text; importSigner refuses a key that is not one for its alg.
      this.#signer = active ? await importSigner(active.kid, active.alg as SigningAlg, open(this.#o.kek, active.privateKey, active.kid)) : null;
    }
    const published = statuses.filter((s) => s.published).map((s) => s.key);
    if (published.map((k) => k.kid).join() !== this.#jwks.kids.join()) this.#jwks = jwksOf(published);
    this.#statuses = statuses;
  }

  #rule() {
    const skewMs = this.#o.clockSkewSeconds * 1000;
    return { skewMs, legacyLingerMs: this.#o.tokenLifetimeSeconds() * 1000 + skewMs };
  }

  #boundOf(kid: string): number {
    return this.#storedBoundMs.get(kid) ?? -Infinity;
  }

  #noteBound(kid: string, ms: number): void {
    if (ms > this.#boundOf(kid)) this.#storedBoundMs.set(kid, ms);
  }

  /**
   * Raises `kid`'s stored bound to at least `targetMs`, or, when a raise is in flight, waits for that
   * one instead (the caller then checks again). false when the key no longer exists.
   */
  async #raise(kid: string, targetMs: number): Promise<boolean> {
    if (this.#raising) return this.#raising.then(() => true);
    const raising = this.#store(kid, targetMs);
    this.#raising = raising;
    try {
      return await raising;
    } finally {
      this.#raising = null;
    }
  }

  async #store(kid: string, targetMs: number): Promise<boolean> {
    // A key stored before 0007 signed tokens before anything was recorded: its first bound also
    // covers the longest lifetime they can have had (as the rule before 0007 assumed).
    const legacy = this.#records.find((k) => k.kid === kid)?.tokensExpireBy === null;
    const until = legacy ? Math.max(targetMs, this.#o.clock.now() + this.#o.tokenLifetimeSeconds() * 1000) : targetMs;
    const stored = await this.#o.repo.raiseTokensExpireBy(kid, new Date(until));
    if (!stored) return false;
    this.#noteBound(kid, stored.getTime());
    return true;
  }
}

function jwksOf(keys: SigningKeyRecord[]): Jwks {
  const published = keys.map((k) => JSON.parse(k.publicJwk) as JWK);
  const body = JSON.stringify({ keys: published });
  return { body, etag: `"${sha256(body)}"`, kids: published.map((k) => k.kid!), verify: jwtVerifier({ keys: published }) };
}
