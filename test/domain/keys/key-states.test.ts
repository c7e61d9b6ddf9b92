// keyStatuses(): a key's state from its times and its siblings alone (pure; no database, no clock).
// pending (published, not signing) → active (the newest activated key, whatever its alg) → retired
// (published until its stored tokensExpireBy plus clock skew; keys stored before migration 0007 have
// none and linger as before it) → gone from the JWKS.
import t from "tap";
import { keyStatuses, type KeyStatus } from "../../../src/domain/keys/key-states.js";
import type { SigningKeyRecord } from "../../../src/storage/signing-keys.js";

const T0 = Date.UTC(2026, 0, 1);
const S = 1000; // one second in ms
const LINGER = 960 * S; // ACCESS_TOKEN_TTL 900 s + CLOCK_SKEW 60 s
const SKEW = 60 * S;
// The state tests below use keys without tokensExpireBy (stored before 0007): they linger LINGER after
// they stopped signing, the old rule. Publication by the stored bound has its own tests at the end.
const RULE = { skewMs: SKEW, legacyLingerMs: LINGER };

/** A stored key; only the fields keyStatuses reads matter, the rest are placeholders. */
function key(
  generation: number,
  activatesAtMs: number,
  options: { alg?: string; retiredAtMs?: number; createdAtMs?: number; tokensExpireByMs?: number } = {},
): SigningKeyRecord {
  return {
    kid: `kid-${options.alg ?? "RS256"}-${generation}`,
    generation,
    alg: options.alg ?? "RS256",
    publicJwk: "{}",
    privateKey: "sealed",
    createdAt: new Date(options.createdAtMs ?? Math.min(activatesAtMs, T0)),
    activatesAt: new Date(activatesAtMs),
    retiredAt: options.retiredAtMs === undefined ? null : new Date(options.retiredAtMs),
    tokensExpireBy: options.tokensExpireByMs === undefined ? null : new Date(options.tokensExpireByMs),
  };
}

/** kid → [state, published, retiredSince ms | null], for compact comparisons. */
function summary(statuses: KeyStatus[]): Record<string, [string, boolean, number | null]> {
  return Object.fromEntries(statuses.map((s) => [s.key.kid, [s.state, s.published, s.retiredSince?.getTime() ?? null]]));
}

t.test("no keys: no statuses", async (t) => {
  t.same(keyStatuses([], T0, RULE), []);
});

t.test("one activated key is active and published", async (t) => {
  const k = key(1, T0);
  const [status, ...rest] = keyStatuses([k], T0, RULE);
  t.same(rest, []);
  t.equal(status?.key, k, "the status carries the record itself");
  t.equal(status?.state, "active");
  t.equal(status?.published, true);
  t.equal(status?.retiredSince, null);
});

t.test("a key whose activation is in the future is pending and published", async (t) => {
  t.same(summary(keyStatuses([key(1, T0 + S)], T0, RULE)), { "kid-RS256-1": ["pending", true, null] });
});

t.test("the activation instant itself counts as activated", async (t) => {
  t.same(summary(keyStatuses([key(1, T0)], T0, RULE)), { "kid-RS256-1": ["active", true, null] });
  t.same(summary(keyStatuses([key(1, T0)], T0 - 1, RULE)), { "kid-RS256-1": ["pending", true, null] });
});

t.test("rotation timeline: pending → active, previous → retired → unpublished", async (t) => {
  const oldKey = key(1, T0);
  const switchAt = T0 + 300 * S; // rotated at T0 with a 300 s activation delay
  const newKey = key(2, switchAt, { createdAtMs: T0 });
  const keys = [oldKey, newKey];

  t.same(summary(keyStatuses(keys, T0, RULE)), {
    "kid-RS256-1": ["active", true, null],
    "kid-RS256-2": ["pending", true, null],
  }, "right after the rotation the old key still signs and the new one is already published");
  t.same(summary(keyStatuses(keys, switchAt - 1, RULE)), {
    "kid-RS256-1": ["active", true, null],
    "kid-RS256-2": ["pending", true, null],
  }, "one millisecond before the activation nothing has changed");
  t.same(summary(keyStatuses(keys, switchAt, RULE)), {
    "kid-RS256-1": ["retired", true, switchAt],
    "kid-RS256-2": ["active", true, null],
  }, "at the activation the new key signs; the old one is retired since that instant and still published");
  t.same(summary(keyStatuses(keys, switchAt + LINGER - 1, RULE)), {
    "kid-RS256-1": ["retired", true, switchAt],
    "kid-RS256-2": ["active", true, null],
  }, "published until the linger has fully passed");
  t.same(summary(keyStatuses(keys, switchAt + LINGER, RULE)), {
    "kid-RS256-1": ["retired", false, switchAt],
    "kid-RS256-2": ["active", true, null],
  }, "gone from the JWKS once every token it signed has expired, plus clock skew");
});

t.test("a key stored before 0007 lingers by the caller's rule: a longer one keeps it published longer", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 10 * S)];
  const at = T0 + 10 * S + 2000 * S;
  t.equal(keyStatuses(keys, at, RULE)[0]?.published, false, "past 960 s");
  t.equal(keyStatuses(keys, at, { skewMs: SKEW, legacyLingerMs: 3660 * S })[0]?.published, true, "a client with a 3600 s token lifetime keeps it published");
});

t.test("a pending successor does not retire the signing key", async (t) => {
  const statuses = keyStatuses([key(1, T0), key(2, T0 + 3600 * S), key(3, T0 + 7200 * S)], T0 + 60 * S, RULE);
  t.same(summary(statuses), {
    "kid-RS256-1": ["active", true, null],
    "kid-RS256-2": ["pending", true, null],
    "kid-RS256-3": ["pending", true, null],
  });
});

t.test("the newest generation signs, not the latest activation: a forced key overtakes a pending one", async (t) => {
  // gen 2: rotated with a delay (activates at +300 s); gen 3: rotated --now at +10 s.
  const keys = [key(1, T0), key(2, T0 + 300 * S), key(3, T0 + 10 * S)];
  t.same(summary(keyStatuses(keys, T0 + 10 * S, RULE)), {
    "kid-RS256-1": ["retired", true, T0 + 10 * S],
    "kid-RS256-2": ["pending", true, null],
    "kid-RS256-3": ["active", true, null],
  });
  t.same(summary(keyStatuses(keys, T0 + 300 * S, RULE)), {
    "kid-RS256-1": ["retired", true, T0 + 10 * S],
    "kid-RS256-2": ["retired", true, T0 + 10 * S],
    "kid-RS256-3": ["active", true, null],
  }, "when gen 2's activation time comes it never signs: gen 3 is newer");
});

t.test("a superseded key is retired from the first activation of a newer key", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 100 * S), key(3, T0 + 200 * S)];
  t.same(summary(keyStatuses(keys, T0 + 200 * S, RULE)), {
    "kid-RS256-1": ["retired", true, T0 + 100 * S],
    "kid-RS256-2": ["retired", true, T0 + 200 * S],
    "kid-RS256-3": ["active", true, null],
  });
  const later = T0 + 100 * S + LINGER;
  t.same(summary(keyStatuses(keys, later, RULE)), {
    "kid-RS256-1": ["retired", false, T0 + 100 * S],
    "kid-RS256-2": ["retired", true, T0 + 200 * S],
    "kid-RS256-3": ["active", true, null],
  }, "each lingers from its own retirement");
});

t.test("explicit retirement", async (t) => {
  t.test("an explicitly retired key lingers from its retiredAt", async (t) => {
    const keys = [key(1, T0, { retiredAtMs: T0 + 50 * S }), key(2, T0 + 50 * S)];
    t.same(summary(keyStatuses(keys, T0 + 50 * S, RULE)), {
      "kid-RS256-1": ["retired", true, T0 + 50 * S],
      "kid-RS256-2": ["active", true, null],
    });
    t.same(summary(keyStatuses(keys, T0 + 50 * S + LINGER, RULE)), {
      "kid-RS256-1": ["retired", false, T0 + 50 * S],
      "kid-RS256-2": ["active", true, null],
    });
  });

  t.test("a retirement time in the future has no effect yet", async (t) => {
    const keys = [key(1, T0, { retiredAtMs: T0 + 50 * S })];
    t.same(summary(keyStatuses(keys, T0 + 49 * S, RULE)), { "kid-RS256-1": ["active", true, null] });
  });

  t.test("a retired pending key never becomes active", async (t) => {
    const keys = [key(1, T0), key(2, T0 + 300 * S, { retiredAtMs: T0 + 10 * S })];
    t.same(summary(keyStatuses(keys, T0 + 300 * S, RULE)), {
      "kid-RS256-1": ["active", true, null],
      "kid-RS256-2": ["retired", true, T0 + 10 * S],
    });
  });
});

t.test("one active key whatever the algs: a newer key of another alg supersedes the older one", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 50 * S, { alg: "ES256" }), key(3, T0 + 100 * S), key(4, T0 + 500 * S, { alg: "ES256" })];
  t.same(summary(keyStatuses(keys, T0 + 50 * S, RULE)), {
    "kid-RS256-1": ["retired", true, T0 + 50 * S],
    "kid-ES256-2": ["active", true, null],
    "kid-RS256-3": ["pending", true, null],
    "kid-ES256-4": ["pending", true, null],
  }, "the ES256 key took over from the RS256 one at its activation");
  t.same(summary(keyStatuses(keys, T0 + 100 * S, RULE)), {
    "kid-RS256-1": ["retired", true, T0 + 50 * S],
    "kid-ES256-2": ["retired", true, T0 + 100 * S],
    "kid-RS256-3": ["active", true, null],
    "kid-ES256-4": ["pending", true, null],
  }, "and an RS256 key takes over from it in turn");
});

t.test("exactly one active key at every instant of a rotation history, across algs", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 300 * S, { alg: "ES256" }), key(3, T0 + 900 * S), key(4, T0 + 1000 * S, { retiredAtMs: T0 + 950 * S }), key(5, T0 + 960 * S, { alg: "EdDSA" })];
  for (let at = T0; at <= T0 + 3000 * S; at += 10 * S) {
    const active = keyStatuses(keys, at, RULE).filter((s) => s.state === "active");
    if (active.length !== 1) {
      t.fail(`at +${(at - T0) / S} s: ${active.length} active keys`);
      return;
    }
  }
  t.pass("one signer throughout");
});

t.test("the same rows in any order give the same states (every instance agrees)", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 100 * S), key(3, T0 + 200 * S, { retiredAtMs: T0 + 150 * S }), key(4, T0 + 400 * S)];
  const at = T0 + 250 * S;
  const expected = summary(keyStatuses(keys, at, RULE));
  t.same(summary(keyStatuses([...keys].reverse(), at, RULE)), expected);
  t.same(summary(keyStatuses([keys[2]!, keys[0]!, keys[3]!, keys[1]!], at, RULE)), expected);
  t.same(Object.keys(summary(keyStatuses([...keys].reverse(), at, RULE))), keys.map((k) => k.kid).reverse(), "one status per key, in input order");
});

t.test("an alg change: the old key signs until the new alg's key activates, then retires; never two signers", async (t) => {
  // Restarted with SIGNING_ALG=EdDSA at T0 + 10 s: an EdDSA key, pending for the 300 s activation delay.
  const keys = [key(1, T0), key(2, T0 + 310 * S, { alg: "EdDSA", createdAtMs: T0 + 10 * S })];
  t.same(summary(keyStatuses(keys, T0 + 309 * S, RULE)), { "kid-RS256-1": ["active", true, null], "kid-EdDSA-2": ["pending", true, null] });
  t.same(summary(keyStatuses(keys, T0 + 310 * S, RULE)), { "kid-RS256-1": ["retired", true, T0 + 310 * S], "kid-EdDSA-2": ["active", true, null] });
});

t.test("a retired key with a stored bound: published until tokensExpireBy + skew, whatever the lifetimes now", async (t) => {
  const expireBy = T0 + 100 * S + 3600 * S; // it signed a 3600 s token just before it stopped at T0 + 100 s
  const keys = [key(1, T0, { tokensExpireByMs: expireBy }), key(2, T0 + 100 * S, { tokensExpireByMs: T0 })];
  const tiny = { skewMs: SKEW, legacyLingerMs: 1 * S }; // lifetimes lowered since: no effect on a stored bound
  t.same(keyStatuses(keys, expireBy + SKEW - 1, tiny).map((s) => [s.state, s.published, s.publishedUntil?.getTime() ?? null]), [
    ["retired", true, expireBy + SKEW],
    ["active", true, null],
  ]);
  t.same(summary(keyStatuses(keys, expireBy + SKEW, tiny)), { "kid-RS256-1": ["retired", false, T0 + 100 * S], "kid-RS256-2": ["active", true, null] });
});

t.test("a key retired before it signed (its bound still its creation) leaves the JWKS skew after its creation", async (t) => {
  const keys = [key(1, T0, { tokensExpireByMs: T0 + 1200 * S }), key(2, T0 + 300 * S, { retiredAtMs: T0 + 10 * S, tokensExpireByMs: T0 })];
  t.same(summary(keyStatuses(keys, T0 + 59 * S, RULE)), { "kid-RS256-1": ["active", true, null], "kid-RS256-2": ["retired", true, T0 + 10 * S] });
  t.same(summary(keyStatuses(keys, T0 + 60 * S, RULE)), { "kid-RS256-1": ["active", true, null], "kid-RS256-2": ["retired", false, T0 + 10 * S] }, "not the 960 s linger of the old rule");
});
