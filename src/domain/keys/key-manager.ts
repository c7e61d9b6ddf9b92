// Changes to the signing keys: creation (first key, rotation, automatic rotation, a change of
// SIGNING_ALG), retirement and pruning. Safe with many instances: a new key takes the next generation
// number, which the database keeps unique, so of several instances rotating at once exactly one
// succeeds. One key signs at a time, whatever its alg (key-states.ts).
import type { SigningAlg } from "../../config/schema.js";
import { seal } from "../../crypto/kek.js";
import { generateSigningKey } from "../../crypto/keys.js";
import { NotFoundError, ValidationError } from "../../errors/internal.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { SigningKeyRecord, SigningKeyRepository } from "../../storage/signing-keys.js";
import type { Clock } from "../clock.js";
import type { Metrics } from "../metrics.js";
import { isSigningAlg, keyStatuses, type KeyStatus } from "./key-states.js";

export type KeyManagerOptions = {
  repo: SigningKeyRepository;
  audit: AuditRepository;
  kek: Buffer;
  clock: Clock;
  /** SIGNING_ALG: the alg of the keys this manager makes */
  alg: SigningAlg;
  /**
   * New keys take the alg of the newest key not retired (the one signing, or the pending one about
   * to), `alg` only when there is none: the CLI's way, so that a `keys rotate` run with another
   * environment does not switch algorithms unasked. The server makes keys of its own SIGNING_ALG.
   */
  followStoredAlg?: boolean;
  activationDelaySeconds: number;
  rotationIntervalSeconds: number;
  /** CLOCK_SKEW: a retired key stays published this long after its last token expires */
  clockSkewSeconds: number;
  /** the linger of keys stored before migration 0007, which carry no bound (key-states.ts) */
  legacyLingerSeconds: () => Promise<number> | number;
  metrics?: Metrics;
};

export type KeySummary = {
  kid: string;
  alg: string;
  state: string;
  generation: number;
  createdAt: Date;
  activatesAt: Date;
  retiredSince: Date | null;
  published: boolean;
  /** when a retired key leaves the JWKS: its tokens' latest expiry plus clock skew */
  publishedUntil: Date | null;
};

export const summaryOf = ({ key, state, retiredSince, published, publishedUntil }: KeyStatus): KeySummary => ({
  kid: key.kid,
  alg: key.alg,
  state,
  generation: key.generation,
  createdAt: key.createdAt,
  activatesAt: key.activatesAt,
  retiredSince,
  published,
  publishedUntil,
});

const MANUAL_ATTEMPTS = 3;

export class KeyManager {
  readonly #o: KeyManagerOptions;

  constructor(options: KeyManagerOptions) {
    this.#o = options;
  }

  async summaries(): Promise<KeySummary[]> {
    return (await this.statuses()).map(summaryOf);
  }

  async statuses(): Promise<KeyStatus[]> {
    const skewMs = this.#o.clockSkewSeconds * 1000;
    const rule = { skewMs, legacyLingerMs: (await this.#o.legacyLingerSeconds()) * 1000 + skewMs };
    return keyStatuses(await this.#o.repo.listAll(), this.#o.clock.now(), rule);
  }

  /**
   * At start-up. With no active key: the first key, active at once (no token exists yet to need a
   * head start). With an active key when SIGNING_ALG names another alg than the newest key not
   * retired: a key of the new alg, published now and signing after the activation delay, like any
   * rotation (the current key signs until then, then retires). Resolves to the key it made, if any.
   */
  async ensureActiveKey(actor: string): Promise<KeySummary | null> {
    const statuses = await this.statuses();
    const seen = statuses.at(-1)?.key.generation ?? 0;
    const active = statuses.some((s) => s.state === "active");
    if (active && statuses.filter((s) => s.state !== "retired").at(-1)!.key.alg === this.#o.alg) return null;
    const created = await this.#create(actor, !active, 1, this.#o.alg, seen);
    return created && summaryOf((await this.statuses()).find((s) => s.key.kid === created.kid)!);
  }

  /**
   * A new key: published now, signing after the activation delay, or at once with `now`. Its alg is
   * `alg` when given, else as the options say (SIGNING_ALG, or the stored keys' with followStoredAlg).
   */
  async rotate(actor: string, now = false, alg?: SigningAlg): Promise<KeySummary> {
    const created = await this.#create(actor, now, MANUAL_ATTEMPTS, alg ?? this.#algFor(await this.statuses()));
    if (!created) throw new Error("could not create a signing key: other instances kept taking the next generation");
    return summaryOf((await this.statuses()).find((s) => s.key.kid === created.kid)!);
  }

  /** Rotates when the newest key is older than the rotation interval; false when not due or lost. */
  async rotateIfDue(actor: string): Promise<boolean> {
    const latest = await this.#o.repo.latest();
    if (latest && latest.createdAt.getTime() + this.#o.rotationIntervalSeconds * 1000 > this.#o.clock.now()) return false;
    return (await this.#create(actor, false, 1, this.#o.alg, latest?.generation ?? 0)) !== null;
  }

  /**
   * Retires a key now. When it is the one signing, its successor takes over first: a pending key
   * is activated early, else a new key is made active at once, so there is never no signer.
   */
  async retire(kid: string, actor: string): Promise<KeySummary> {
    const statuses = await this.statuses();
    const target = statuses.find((s) => s.key.kid === kid);
    if (!target) throw new NotFoundError(`key ${kid} not found`);
    if (target.state === "retired") throw new ValidationError(`key ${kid} is retired already`);
    const now = new Date(this.#o.clock.now());
    if (target.state === "active") {
      const pending = statuses.filter((s) => s.state === "pending").at(-1);
      if (pending) await this.#o.repo.setActivatesAt(pending.key.kid, now);
      else await this.#create(actor, true, MANUAL_ATTEMPTS, this.#algFor(statuses));
    }
    await this.#o.repo.retire(kid, now);
    await this.#audit(actor, "key.retire", kid, {});
    return summaryOf((await this.statuses()).find((s) => s.key.kid === kid)!);
  }

  /**
   * Deletes retired keys that are no longer published: past their stored tokensExpireBy plus clock
   * skew, whatever the lifetimes configured where this runs. The delete re-checks the bound, so a key
   * an instance raised meanwhile stays.
   */
  async prune(actor: string): Promise<string[]> {
    const unpublished = (await this.statuses()).filter((s) => !s.published).map((s) => s.key.kid);
    const latestBound = new Date(this.#o.clock.now() - this.#o.clockSkewSeconds * 1000);
    let gone = unpublished;
    // Coverage: fewer deleted than listed only when another instance raised a key's bound between
    // the two statements above, a race no test can order.
    /* c8 ignore start */
    if ((await this.#o.repo.delete(unpublished, latestBound)) < unpublished.length) {
      const left = new Set((await this.#o.repo.listAll()).map((k) => k.kid));
      gone = unpublished.filter((kid) => !left.has(kid));
    }
    /* c8 ignore stop */
    for (const kid of gone) await this.#audit(actor, "key.prune", kid, {});
    return gone;
  }

  #algFor(statuses: KeyStatus[]): SigningAlg {
    if (!this.#o.followStoredAlg) return this.#o.alg;
    const current = statuses.filter((s) => s.state !== "retired").at(-1)?.key.alg;
    return current && isSigningAlg(current) ? current : this.#o.alg;
  }

  /**
   * null when every attempt found its generation taken by another instance. `seenGeneration` is the
   * latest generation the caller's decision was based on: claiming seen + 1 makes the database refuse
   * us when another instance acted on the same view first. Later attempts (manual rotation) re-read.
   */
  async #create(actor: string, activateNow: boolean, attempts: number, alg: SigningAlg, seenGeneration?: number): Promise<SigningKeyRecord | null> {
    const generated = await generateSigningKey(alg);
    const nowMs = this.#o.clock.now();
    for (let attempt = 0; attempt < attempts; attempt++) {
      const record: SigningKeyRecord = {
        kid: generated.kid,
        generation: (attempt === 0 && seenGeneration !== undefined ? seenGeneration : ((await this.#o.repo.latest())?.generation ?? 0)) + 1,
        alg: generated.alg,
        publicJwk: JSON.stringify(generated.publicJwk),
        privateKey: seal(this.#o.kek, generated.privatePkcs8, generated.kid),
        createdAt: new Date(nowMs),
        activatesAt: new Date(activateNow ? nowMs : nowMs + this.#o.activationDelaySeconds * 1000),
        retiredAt: null,
        tokensExpireBy: new Date(nowMs), // nothing signed yet: the signers raise it (key-ring.ts)
      };
      if (await this.#o.repo.insertIfGenerationFree(record)) {
        this.#o.metrics?.keyCreated();
        await this.#audit(actor, "key.create", record.kid, { alg: record.alg, generation: record.generation, activatesAt: record.activatesAt.toISOString() });
        return record;
      }
    }
    return null;
  }

  #audit(actor: string, action: string, kid: string, details: Record<string, unknown>): Promise<void> {
    return this.#o.audit.record({ at: new Date(this.#o.clock.now()), actor, action, target: `key:${kid}`, details });
  }
}
