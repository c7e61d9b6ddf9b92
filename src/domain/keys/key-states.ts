// A key's state follows from its times and its siblings, so every instance, given the same rows and
// clock, picks the same signer and publishes the same JWKS without coordinating:
// - pending: published, not signing yet (activatesAt in the future);
// - active: the newest activated, unretired key, whatever its alg: one signer at a time, so a change
//   of SIGNING_ALG goes through pending → active → retired like any rotation;
// - retired: superseded by a newer active key, or retired explicitly; published until every token it
//   signed has expired (its stored tokensExpireBy), plus clock skew, then gone from JWKS. The bound
//   is what was written before signing, never today's lifetimes, which may have been lowered since.
import { SIGNING_ALGS, type SigningAlg } from "../../config/schema.js";
import type { SigningKeyRecord } from "../../storage/signing-keys.js";

/** Whether a stored key's alg is one tessera signs with (the column is free text). */
export const isSigningAlg = (alg: string): alg is SigningAlg => (SIGNING_ALGS as readonly string[]).includes(alg);

export type KeyState = "pending" | "active" | "retired";

export type KeyStatus = {
  key: SigningKeyRecord;
  state: KeyState;
  /** when it stopped signing (null unless retired) */
  retiredSince: Date | null;
  /** whether it belongs in the JWKS now */
  published: boolean;
  /** when a retired key leaves the JWKS (null while pending or active) */
  publishedUntil: Date | null;
};

export type PublicationRule = {
  /** CLOCK_SKEW: a retired key stays published this long after the last expiry of its tokens */
  skewMs: number;
  /**
   * Keys stored before migration 0007 carry no tokensExpireBy: they stay published this long after
   * they stopped signing (the longest lifetime configured now, plus skew: the rule before 0007).
   */
  legacyLingerMs: number;
};

export function keyStatuses(keys: readonly SigningKeyRecord[], nowMs: number, rule: PublicationRule): KeyStatus[] {
  const explicitlyRetired = (k: SigningKeyRecord) => k.retiredAt !== null && k.retiredAt.getTime() <= nowMs;
  const activated = (k: SigningKeyRecord) => k.activatesAt.getTime() <= nowMs;
  let active: SigningKeyRecord | undefined;
  for (const k of keys) {
    if (activated(k) && !explicitlyRetired(k) && (!active || k.generation > active.generation)) active = k;
  }
  return keys.map((key) => {
    if (explicitlyRetired(key)) return retired(key, key.retiredAt!, nowMs, rule);
    if (!activated(key)) return { key, state: "pending", retiredSince: null, published: true, publishedUntil: null };
    if (key === active) return { key, state: "active", retiredSince: null, published: true, publishedUntil: null };
    // Superseded: it stopped signing when the first newer key (of any alg) activated. There is one:
    // the active key is newer, or this one would be active.
    const successors = keys.filter((k) => k.generation > key.generation && activated(k));
    return retired(key, new Date(Math.min(...successors.map((k) => k.activatesAt.getTime()))), nowMs, rule);
  });
}

function retired(key: SigningKeyRecord, since: Date, nowMs: number, rule: PublicationRule): KeyStatus {
  const until = key.tokensExpireBy === null ? since.getTime() + rule.legacyLingerMs : key.tokensExpireBy.getTime() + rule.skewMs;
  return { key, state: "retired", retiredSince: since, published: until > nowMs, publishedUntil: new Date(until) };
}
