// keyStatuses(): a key's state from its times and its siblings alone (pure; no database, no clock).
// pending (published, not signing) → active (the newest activated key of its alg) → retired
// (published for `lingerMs` after it stopped signing) → gone from the JWKS.
import t from "tap";
import { keyStatuses, type KeyStatus } from "../../../src/domain/keys/key-states.js";
import type { SigningKeyRecord } from "../../../src/storage/signing-keys.js";

const T0 = Date.UTC(2026, 0, 1);
const S = 1000; // one second in ms
const LINGER = 960 * S; // ACCESS_TOKEN_TTL 900 s + CLOCK_SKEW 60 s

/** A stored key; only the fields keyStatuses reads matter, the rest are placeholders. */
function key(generation: number, activatesAtMs: number, options: { alg?: string; retiredAtMs?: number; createdAtMs?: number } = {}): SigningKeyRecord {
  return {
    kid: `kid-${options.alg ?? "RS256"}-${generation}`,
    generation,
    alg: options.alg ?? "RS256",
    publicJwk: "{}",
    privateKey: "sealed",
    createdAt: new Date(options.createdAtMs ?? Math.min(activatesAtMs, T0)),
    activatesAt: new Date(activatesAtMs),
    retiredAt: options.retiredAtMs === undefined ? null : new Date(options.retiredAtMs),
  };
}

/** kid → [state, published, retiredSince ms | null], for compact comparisons. */
function summary(statuses: KeyStatus[]): Record<string, [string, boolean, number | null]> {
  return Object.fromEntries(statuses.map((s) => [s.key.kid, [s.state, s.published, s.retiredSince?.getTime() ?? null]]));
}

t.test("no keys: no statuses", async (t) => {
  t.same(keyStatuses([], T0, LINGER), []);
});

t.test("one activated key is active and published", async (t) => {
  const k = key(1, T0);
  const [status, ...rest] = keyStatuses([k], T0, LINGER);
  t.same(rest, []);
  t.equal(status?.key, k, "the status carries the record itself");
  t.equal(status?.state, "active");
  t.equal(status?.published, true);
  t.equal(status?.retiredSince, null);
});

t.test("a key whose activation is in the future is pending and published", async (t) => {
  t.same(summary(keyStatuses([key(1, T0 + S)], T0, LINGER)), { "kid-RS256-1": ["pending", true, null] });
});

t.test("the activation instant itself counts as activated", async (t) => {
  t.same(summary(keyStatuses([key(1, T0)], T0, LINGER)), { "kid-RS256-1": ["active", true, null] });
  t.same(summary(keyStatuses([key(1, T0)], T0 - 1, LINGER)), { "kid-RS256-1": ["pending", true, null] });
});

t.test("rotation timeline: pending → active, previous → retired → unpublished", async (t) => {
  const oldKey = key(1, T0);
  const switchAt = T0 + 300 * S; // rotated at T0 with a 300 s activation delay
  const newKey = key(2, switchAt, { createdAtMs: T0 });
  const keys = [oldKey, newKey];

  t.same(summary(keyStatuses(keys, T0, LINGER)), {
    "kid-RS256-1": ["active", true, null],
    "kid-RS256-2": ["pending", true, null],
  }, "right after the rotation the old key still signs and the new one is already published");
  t.same(summary(keyStatuses(keys, switchAt - 1, LINGER)), {
    "kid-RS256-1": ["active", true, null],
    "kid-RS256-2": ["pending", true, null],
  }, "one millisecond before the activation nothing has changed");
  t.same(summary(keyStatuses(keys, switchAt, LINGER)), {
    "kid-RS256-1": ["retired", true, switchAt],
    "kid-RS256-2": ["active", true, null],
  }, "at the activation the new key signs; the old one is retired since that instant and still published");
  t.same(summary(keyStatuses(keys, switchAt + LINGER - 1, LINGER)), {
    "kid-RS256-1": ["retired", true, switchAt],
    "kid-RS256-2": ["active", true, null],
  }, "published until the linger has fully passed");
  t.same(summary(keyStatuses(keys, switchAt + LINGER, LINGER)), {
    "kid-RS256-1": ["retired", false, switchAt],
    "kid-RS256-2": ["active", true, null],
  }, "gone from the JWKS once every token it signed has expired, plus clock skew");
});

t.test("the linger is the caller's: a longer one keeps a retired key published longer", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 10 * S)];
  const at = T0 + 10 * S + 2000 * S;
  t.equal(keyStatuses(keys, at, LINGER)[0]?.published, false, "past 960 s");
  t.equal(keyStatuses(keys, at, 3660 * S)[0]?.published, true, "a client with a 3600 s token lifetime keeps it published");
});

t.test("a pending successor does not retire the signing key", async (t) => {
  const statuses = keyStatuses([key(1, T0), key(2, T0 + 3600 * S), key(3, T0 + 7200 * S)], T0 + 60 * S, LINGER);
  t.same(summary(statuses), {
    "kid-RS256-1": ["active", true, null],
    "kid-RS256-2": ["pending", true, null],
    "kid-RS256-3": ["pending", true, null],
  });
});

t.test("the newest generation signs, not the latest activation: a forced key overtakes a pending one", async (t) => {
  // gen 2: rotated with a delay (activates at +300 s); gen 3: rotated --now at +10 s.
  const keys = [key(1, T0), key(2, T0 + 300 * S), key(3, T0 + 10 * S)];
  t.same(summary(keyStatuses(keys, T0 + 10 * S, LINGER)), {
    "kid-RS256-1": ["retired", true, T0 + 10 * S],
    "kid-RS256-2": ["pending", true, null],
    "kid-RS256-3": ["active", true, null],
  });
  t.same(summary(keyStatuses(keys, T0 + 300 * S, LINGER)), {
    "kid-RS256-1": ["retired", true, T0 + 10 * S],
    "kid-RS256-2": ["retired", true, T0 + 10 * S],
    "kid-RS256-3": ["active", true, null],
  }, "when gen 2's activation time comes it never signs: gen 3 is newer");
});

t.test("a superseded key is retired from the first activation of a newer key", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 100 * S), key(3, T0 + 200 * S)];
  t.same(summary(keyStatuses(keys, T0 + 200 * S, LINGER)), {
    "kid-RS256-1": ["retired", true, T0 + 100 * S],
    "kid-RS256-2": ["retired", true, T0 + 200 * S],
    "kid-RS256-3": ["active", true, null],
  });
  const later = T0 + 100 * S + LINGER;
  t.same(summary(keyStatuses(keys, later, LINGER)), {
    "kid-RS256-1": ["retired", false, T0 + 100 * S],
    "kid-RS256-2": ["retired", true, T0 + 200 * S],
    "kid-RS256-3": ["active", true, null],
  }, "each lingers from its own retirement");
});

t.test("explicit retirement", async (t) => {
  t.test("an explicitly retired key lingers from its retiredAt", async (t) => {
    const keys = [key(1, T0, { retiredAtMs: T0 + 50 * S }), key(2, T0 + 50 * S)];
    t.same(summary(keyStatuses(keys, T0 + 50 * S, LINGER)), {
      "kid-RS256-1": ["retired", true, T0 + 50 * S],
      "kid-RS256-2": ["active", true, null],
    });
    t.same(summary(keyStatuses(keys, T0 + 50 * S + LINGER, LINGER)), {
      "kid-RS256-1": ["retired", false, T0 + 50 * S],
      "kid-RS256-2": ["active", true, null],
    });
  });

  t.test("a retirement time in the future has no effect yet", async (t) => {
    const keys = [key(1, T0, { retiredAtMs: T0 + 50 * S })];
    t.same(summary(keyStatuses(keys, T0 + 49 * S, LINGER)), { "kid-RS256-1": ["active", true, null] });
  });

  t.test("a retired pending key never becomes active", async (t) => {
    const keys = [key(1, T0), key(2, T0 + 300 * S, { retiredAtMs: T0 + 10 * S })];
    t.same(summary(keyStatuses(keys, T0 + 300 * S, LINGER)), {
      "kid-RS256-1": ["active", true, null],
      "kid-RS256-2": ["retired", true, T0 + 10 * S],
    });
  });
});

t.test("each algorithm has its own active key", async (t) => {
  const keys = [key(1, T0), key(2, T0, { alg: "ES256" }), key(3, T0 + 100 * S), key(4, T0 + 500 * S, { alg: "ES256" })];
  t.same(summary(keyStatuses(keys, T0 + 100 * S, LINGER)), {
    "kid-RS256-1": ["retired", true, T0 + 100 * S],
    "kid-ES256-2": ["active", true, null],
    "kid-RS256-3": ["active", true, null],
    "kid-ES256-4": ["pending", true, null],
  }, "an ES256 key neither supersedes nor is superseded by an RS256 key");
});

t.test("exactly one active key per alg at every instant of a rotation history", async (t) => {
  const keys = [key(1, T0), key(2, T0 + 300 * S), key(3, T0 + 900 * S), key(4, T0 + 1000 * S, { retiredAtMs: T0 + 950 * S }), key(5, T0 + 960 * S)];
  for (let at = T0; at <= T0 + 3000 * S; at += 10 * S) {
    const active = keyStatuses(keys, at, LINGER).filter((s) => s.state === "active");
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
  const expected = summary(keyStatuses(keys, at, LINGER));
  t.same(summary(keyStatuses([...keys].reverse(), at, LINGER)), expected);
  t.same(summary(keyStatuses([keys[2]!, keys[0]!, keys[3]!, keys[1]!], at, LINGER)), expected);
  t.same(Object.keys(summary(keyStatuses([...keys].reverse(), at, LINGER))), keys.map((k) => k.kid).reverse(), "one status per key, in input order");
});

t.test("a newer key of another alg supersedes nothing: both stay active", async (t) => {
  const statuses = keyStatuses([key(1, T0), key(2, T0, { alg: "EdDSA" })], T0 + 10_000 * S, LINGER);
  t.same(statuses.map((s) => s.state), ["active", "active"]);
  t.ok(statuses.every((s) => s.published));
});
