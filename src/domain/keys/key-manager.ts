// Changes to the signing keys: creation (first key, rotation, automatic rotation), retirement and
// pruning. Safe with many instances: a new key takes the next generation number, which the database
// keeps unique, so of several instances rotating at once exactly one succeeds.
import type { SigningAlg } from "../../config/schema.js";
import { seal } from "../../crypto/kek.js";
import { generateSigningKey } from "../../crypto/keys.js";
import { NotFoundError, ValidationError } from "../../errors/internal.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { SigningKeyRecord, SigningKeyRepository } from "../../storage/signing-keys.js";
import type { Clock } from "../clock.js";
import type { Metrics } from "../metrics.js";
import { keyStatuses, type KeyStatus } from "./key-states.js";

export type KeyManagerOptions = {
  repo: SigningKeyRepository;
  audit: AuditRepository;
  kek: Buffer;
  clock: Clock;
  alg: SigningAlg;
  activationDelaySeconds: number;
  rotationIntervalSeconds: number;
  /** how long a retired key stays published: the longest access-token lifetime plus clock skew */
  lingerSeconds: () => Promise<number> | number;
  metrics?: Metrics;
};

export type KeySummary = { kid: string; alg: string; state: string; generation: number; createdAt: Date; activatesAt: Date; retiredSince: Date | null; published: boolean };

export const summaryOf = ({ key, state, retiredSince, published }: KeyStatus): KeySummary => ({
  kid: key.kid,
  alg: key.alg,
  state,
  generation: key.generation,
  createdAt: key.createdAt,
  activatesAt: key.activatesAt,
  retiredSince,
  published,
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
    return keyStatuses(await this.#o.repo.listAll(), this.#o.clock.now(), (await this.#o.lingerSeconds()) * 1000);
  }

  /** The first key, active at once (no token exists yet to need a head start), unless one exists. */
  async ensureActiveKey(actor: string): Promise<void> {
    const statuses = await this.statuses();
    if (statuses.some((s) => s.state === "active" && s.key.alg === this.#o.alg)) return;
    await this.#create(actor, true, 1, statuses.at(-1)?.key.generation ?? 0);
  }

  /** A new key: published now, signing after the activation delay, or at once with `now`. */
  async rotate(actor: string, now = false): Promise<KeySummary> {
    const created = await this.#create(actor, now, MANUAL_ATTEMPTS);
    if (!created) throw new Error("could not create a signing key: other instances kept taking the next generation");
    return summaryOf((await this.statuses()).find((s) => s.key.kid === created.kid)!);
  }

  /** Rotates when the newest key is older than the rotation interval; false when not due or lost. */
  async rotateIfDue(actor: string): Promise<boolean> {
    const latest = await this.#o.repo.latest();
    if (latest && latest.createdAt.getTime() + this.#o.rotationIntervalSeconds * 1000 > this.#o.clock.now()) return false;
    return (await this.#create(actor, false, 1, latest?.generation ?? 0)) !== null;
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
      const pending = statuses.filter((s) => s.state === "pending" && s.key.alg === target.key.alg).at(-1);
      if (pending) await this.#o.repo.setActivatesAt(pending.key.kid, now);
      else if (target.key.alg === this.#o.alg) await this.#create(actor, true, MANUAL_ATTEMPTS);
    }
    await this.#o.repo.retire(kid, now);
    await this.#audit(actor, "key.retire", kid, {});
    return summaryOf((await this.statuses()).find((s) => s.key.kid === kid)!);
  }

  /** Deletes retired keys that are no longer published. */
  async prune(actor: string): Promise<string[]> {
    const gone = (await this.statuses()).filter((s) => !s.published).map((s) => s.key.kid);
    await this.#o.repo.delete(gone);
    for (const kid of gone) await this.#audit(actor, "key.prune", kid, {});
    return gone;
  }

  /**
   * null when every attempt found its generation taken by another instance. `seenGeneration` is the
   * latest generation the caller's decision was based on: claiming seen + 1 makes the database refuse
   * us when another instance acted on the same view first. Later attempts (manual rotation) re-read.
   */
  async #create(actor: string, activateNow: boolean, attempts: number, seenGeneration?: number): Promise<SigningKeyRecord | null> {
    const generated = await generateSigningKey(this.#o.alg);
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
