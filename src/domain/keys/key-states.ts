// A key's state follows from its times and its siblings, so every instance, given the same rows and
// clock, picks the same signer and publishes the same JWKS without coordinating:
// - pending: published, not signing yet (activatesAt in the future);
// - active: the newest activated, unretired key of its alg: the one that signs;
// - retired: superseded by a newer active key, or retired explicitly; published until `lingerMs`
//   after it stopped signing (the longest token lifetime plus clock skew), then gone from JWKS.
import type { SigningKeyRecord } from "../../storage/signing-keys.js";

export type KeyState = "pending" | "active" | "retired";

export type KeyStatus = {
  key: SigningKeyRecord;
  state: KeyState;
  /** when it stopped signing (null unless retired) */
  retiredSince: Date | null;
  /** whether it belongs in the JWKS now */
  published: boolean;
};

export function keyStatuses(keys: readonly SigningKeyRecord[], nowMs: number, lingerMs: number): KeyStatus[] {
  const explicitlyRetired = (k: SigningKeyRecord) => k.retiredAt !== null && k.retiredAt.getTime() <= nowMs;
  const activated = (k: SigningKeyRecord) => k.activatesAt.getTime() <= nowMs;
  const activeOf = new Map<string, SigningKeyRecord>();
  for (const k of keys) {
    const current = activeOf.get(k.alg);
    if (activated(k) && !explicitlyRetired(k) && (!current || k.generation > current.generation)) activeOf.set(k.alg, k);
  }
  return keys.map((key) => {
    if (explicitlyRetired(key)) return retired(key, key.retiredAt!, nowMs, lingerMs);
    if (!activated(key)) return { key, state: "pending", retiredSince: null, published: true };
    if (activeOf.get(key.alg) === key) return { key, state: "active", retiredSince: null, published: true };
    // Superseded: it stopped signing when the first newer key of its alg activated.
    const successors = keys.filter((k) => k.alg === key.alg && k.generation > key.generation && activated(k));
    const since = Math.min(...successors.map((k) => k.activatesAt.getTime()));
    return retired(key, new Date(Number.isFinite(since) ? since : nowMs), nowMs, lingerMs);
  });
}

function retired(key: SigningKeyRecord, since: Date, nowMs: number, lingerMs: number): KeyStatus {
  return { key, state: "retired", retiredSince: since, published: since.getTime() + lingerMs > nowMs };
}
