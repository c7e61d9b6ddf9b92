// DPoP proofs as a request presents them (RFC 9449 §4.3): one header, a valid proof (crypto/dpop.ts),
// the server's nonce when DPOP_NONCE is on (§8-9), and never the same proof twice, on any instance.
import { verifyDpopProof } from "../../crypto/dpop.js";
export { DPOP_SIGNING_ALGS } from "../../crypto/dpop.js";
import { constantTimeEqual, keyedDigest } from "../../crypto/secrets.js";
import { InvalidDpopProof, UseDpopNonce } from "../../errors/oauth.js";
import type { UsedDpopProofs } from "../../storage/used-dpop-proofs.js";
import type { Clock } from "../clock.js";
import type { DpopKey } from "../grants/index.js";

/**
 * How old a proof may be (by its iat, RFC 9449 §11.1), beyond the clock skew allowed either way: a
 * client makes a proof just before its request, so a minute covers a slow network and a retry, while
 * a proof captured in transit (with its request) is useless soon after. Every accepted proof is
 * remembered this long, so it is also how many rows the replay table holds per request rate.
 */
export const DPOP_PROOF_MAX_AGE_SECONDS = 60;

/**
 * A server nonce stays the same for this long; a proof may carry the current one or the previous one,
 * so a nonce lasts 60 to 120 s. Nonces are HMACs of the time slot under a key from the KEK: every
 * instance makes and accepts the same ones, with nothing stored.
 */
export const DPOP_NONCE_SLOT_SECONDS = 60;

export type DpopRequest = {
  /** the DPoP header's value as received (Node joins repeated headers with ", "); undefined: none */
  header: string | undefined;
  /** how many DPoP header fields the request had */
  headerCount: number;
  htm: string;
  htu: string;
  /** the access token the proof comes with (at a resource): its ath must match */
  accessToken?: string;
};

export type DpopProofDeps = {
  clock: Clock;
  used: UsedDpopProofs;
  /** DPOP_NONCE: proofs must carry a nonce from nonce() */
  nonceRequired: boolean;
  /** HMAC key for nonces (deriveKey(kek, "dpop nonce")), the same on every instance */
  nonceKey: Buffer;
  /** CLOCK_SKEW, allowed either side of a proof's iat */
  skewSeconds: number;
};

export class DpopProofChecker {
  readonly #d: DpopProofDeps;

  constructor(deps: DpopProofDeps) {
    this.#d = deps;
  }

  /** Whether every proof must carry a nonce (DPOP_NONCE): then every answer carries DPoP-Nonce. */
  get nonceRequired(): boolean {
    return this.#d.nonceRequired;
  }

  /**
   * The key the request's proof proves possession of; null when it has no DPoP header. Throws
   * InvalidDpopProof for a bad proof, a repeated header or a proof seen before, and UseDpopNonce for a
   * proof without a current nonce (when required). A proof is recorded as used only when it passed
   * every other check, so a forged one writes nothing.
   */
  async check(request: DpopRequest): Promise<DpopKey | null> {
    if (request.headerCount === 0 && request.header === undefined) return null;
    // §4.3 check 1: not more than one DPoP header field.
    if (request.headerCount > 1) throw new InvalidDpopProof("more than one DPoP header");
    const nowSeconds = this.#d.clock.now() / 1000;
    const skewSeconds = this.#d.skewSeconds;
    const proof = await verifyDpopProof(
      request.header ?? "",
      { htm: request.htm, htu: request.htu, ...(request.accessToken === undefined ? {} : { accessToken: request.accessToken }) },
      { nowSeconds, maxAgeSeconds: DPOP_PROOF_MAX_AGE_SECONDS, skewSeconds },
    );
    // §4.3 check 10: the server's nonce.
    if (this.#d.nonceRequired && !this.#isCurrentNonce(proof.nonce, nowSeconds)) {
      throw new UseDpopNonce(proof.nonce === undefined ? "DPoP proof must carry the server's nonce (DPoP-Nonce)" : "DPoP proof nonce is stale: use the one in DPoP-Nonce");
    }
    // §11.1: once. The proof is remembered past its window on this clock by one skew more, for
    // instances whose clocks differ from this one's.
    const expiresAt = new Date((proof.iat + DPOP_PROOF_MAX_AGE_SECONDS + 2 * skewSeconds) * 1000);
    if (!(await this.#d.used.useOnce(proof.jkt, proof.jti, expiresAt))) {
      throw new InvalidDpopProof("DPoP proof was used before");
    }
    return { jkt: proof.jkt };
  }

  /** How many proofs are remembered as used (see storage/used-dpop-proofs.ts). */
  async remembered(): Promise<number> {
    return await this.#d.used.count();
  }

  /** The nonce proofs should carry now (the DPoP-Nonce header's value). */
  nonce(): string {
    return this.#nonceOfSlot(Math.floor(this.#d.clock.now() / 1000 / DPOP_NONCE_SLOT_SECONDS));
  }

  #isCurrentNonce(nonce: string | undefined, nowSeconds: number): boolean {
    if (nonce === undefined) return false;
    const slot = Math.floor(nowSeconds / DPOP_NONCE_SLOT_SECONDS);
    return constantTimeEqual(nonce, this.#nonceOfSlot(slot)) || constantTimeEqual(nonce, this.#nonceOfSlot(slot - 1));
  }

  #nonceOfSlot(slot: number): string {
    return keyedDigest(this.#d.nonceKey, `dpop nonce ${slot}`);
  }
}
