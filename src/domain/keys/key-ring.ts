// The signing keys in memory: the signer for new tokens and the JWKS, serialised once per change.
// Loaded from the database at start and whenever its version counter moves (see poller.ts).
import type { JWK } from "jose";
import type { SigningAlg } from "../../config/schema.js";
import { open, seal } from "../../crypto/kek.js";
import { jwtVerifier, type JwtVerifier } from "../../crypto/jwt.js";
import { generateSigningKey, importSigner, type Signer } from "../../crypto/keys.js";
import { sha256 } from "../../crypto/secrets.js";
import type { SigningKeyRecord, SigningKeyRepository } from "../../storage/signing-keys.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";

export type Jwks = { body: string; etag: string; kids: string[]; verify: JwtVerifier };

export type KeyRingOptions = { repo: SigningKeyRepository; kek: Buffer; alg: SigningAlg; clock: Clock; log: Logger };

export class KeyRing {
  readonly #o: KeyRingOptions;
  #signer: Signer | null = null;
  #jwks: Jwks = jwksOf([]);
  #version = -1;

  constructor(options: KeyRingOptions) {
    this.#o = options;
  }

  /** The key that signs now; null only before the first load or when no active key exists. */
  get signer(): Signer | null {
    return this.#signer;
  }

  get jwks(): Jwks {
    return this.#jwks;
  }

  /** Loads the keys, and makes the first one when the database has none for the configured alg. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.#signer) return;
    const created = await this.#createActiveKey();
    await this.refresh(true);
    if (created) this.#o.log.info({ kid: created }, "created signing key");
  }

  /** Reloads when the stored version moved (or when forced). */
  async refresh(force = false): Promise<void> {
    const version = await this.#o.repo.version();
    if (!force && version === this.#version) return;
    const keys = await this.#o.repo.listAll();
    // Open the newest key even when it is not ours to sign with: a wrong KEK must stop the start,
    // before it could lead to a second key that only this instance can open.
    const newest = keys.at(-1);
    if (newest) open(this.#o.kek, newest.privateKey, newest.kid);
    const active = keys.filter((k) => k.state === "active" && k.alg === this.#o.alg).at(-1);
    this.#signer = active ? await importSigner(active.kid, this.#o.alg, open(this.#o.kek, active.privateKey, active.kid)) : null;
    this.#jwks = jwksOf(keys);
    this.#version = version;
  }

  /** Returns the new kid, or null when another instance created the key of that generation first. */
  async #createActiveKey(): Promise<string | null> {
    const key = await generateSigningKey(this.#o.alg);
    const now = new Date(this.#o.clock.now());
    const inserted = await this.#o.repo.insertIfGenerationFree({
      kid: key.kid,
      generation: (await this.#o.repo.latestGeneration()) + 1,
      alg: key.alg,
      state: "active", // the first key: no token exists yet, so nothing needs a head start
      publicJwk: JSON.stringify(key.publicJwk),
      privateKey: seal(this.#o.kek, key.privatePkcs8, key.kid),
      activatesAt: now,
      retiredAt: null,
    });
    return inserted ? key.kid : null;
  }
}

function jwksOf(keys: SigningKeyRecord[]): Jwks {
  const published = keys.map((k) => JSON.parse(k.publicJwk) as JWK);
  const body = JSON.stringify({ keys: published });
  return { body, etag: `"${sha256(body)}"`, kids: published.map((k) => k.kid!), verify: jwtVerifier({ keys: published }) };
}
