// The signing keys in memory: the signer for new tokens, the JWKS (serialised once per change of the
// published set) and a verifier over it. Reloaded from the database when its version counter moves,
// and re-evaluated on every poll, since states change with time alone (key-states.ts).
import type { JWK } from "jose";
import type { SigningAlg } from "../../config/schema.js";
import { open } from "../../crypto/kek.js";
import { jwtVerifier, type JwtVerifier } from "../../crypto/jwt.js";
import { importSigner, type Signer } from "../../crypto/keys.js";
import { sha256 } from "../../crypto/secrets.js";
import type { SigningKeyRecord, SigningKeyRepository } from "../../storage/signing-keys.js";
import type { Clock } from "../clock.js";
import { keyStatuses, type KeyStatus } from "./key-states.js";

export type Jwks = { body: string; etag: string; kids: string[]; verify: JwtVerifier };

export type KeyRingOptions = {
  repo: SigningKeyRepository;
  kek: Buffer;
  alg: SigningAlg;
  clock: Clock;
  lingerSeconds: () => number;
};

export class KeyRing {
  readonly #o: KeyRingOptions;
  #records: SigningKeyRecord[] = [];
  #version = -1;
  #statuses: KeyStatus[] = [];
  #signer: Signer | null = null;
  #jwks: Jwks = jwksOf([]);

  constructor(options: KeyRingOptions) {
    this.#o = options;
  }

  /** The key that signs now; null only when no key of the configured alg is active. */
  get signer(): Signer | null {
    return this.#signer;
  }

  get jwks(): Jwks {
    return this.#jwks;
  }

  get statuses(): readonly KeyStatus[] {
    return this.#statuses;
  }

  /** Reloads the rows when the stored version moved (or when forced), then re-evaluates states. */
  async refresh(force = false): Promise<void> {
    const version = await this.#o.repo.version();
    if (force || version !== this.#version) {
      const records = await this.#o.repo.listAll();
      // Open the newest key even when it is not ours to sign with: a wrong KEK must stop the start
      // (KeyDecryptionError), before it could lead to a second key only this instance can open.
      const newest = records.at(-1);
      if (newest) open(this.#o.kek, newest.privateKey, newest.kid);
      this.#records = records;
      this.#version = version;
    }
    await this.#evaluate();
  }

  async #evaluate(): Promise<void> {
    const statuses = keyStatuses(this.#records, this.#o.clock.now(), this.#o.lingerSeconds() * 1000);
    const active = statuses.find((s) => s.state === "active" && s.key.alg === this.#o.alg)?.key;
    if (active?.kid !== this.#signer?.kid) {
      this.#signer = active ? await importSigner(active.kid, this.#o.alg, open(this.#o.kek, active.privateKey, active.kid)) : null;
    }
    const published = statuses.filter((s) => s.published).map((s) => s.key);
    if (published.map((k) => k.kid).join() !== this.#jwks.kids.join()) this.#jwks = jwksOf(published);
    this.#statuses = statuses;
  }
}

function jwksOf(keys: SigningKeyRecord[]): Jwks {
  const published = keys.map((k) => JSON.parse(k.publicJwk) as JWK);
  const body = JSON.stringify({ keys: published });
  return { body, etag: `"${sha256(body)}"`, kids: published.map((k) => k.kid!), verify: jwtVerifier({ keys: published }) };
}
