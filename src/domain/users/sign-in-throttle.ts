// Slows down password guessing against one username: after FREE_FAILURES wrong passwords, each
// further attempt must wait twice as long as the last (1 s, 2 s, 4 s … up to 5 min), answered with
// 429 and Retry-After instead of a check. A success or 15 quiet minutes forget the failures.
// Per instance and in memory: with several instances an attacker gains at most that factor.
import { SlowDown } from "../../errors/oauth.js";
import type { Clock } from "../clock.js";

const FREE_FAILURES = 5;
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 5 * 60_000;
const FORGET_AFTER_MS = 15 * 60_000;
const MAX_TRACKED = 100_000; // bounded: random usernames cannot grow memory without end

type Failures = { count: number; lastMs: number; blockedUntilMs: number };

export class SignInThrottle {
  readonly #clock: Clock;
  readonly #failures = new Map<string, Failures>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Throws SlowDown while `username` is in its back-off period. */
  check(username: string): void {
    const entry = this.#current(username);
    const waitMs = entry ? entry.blockedUntilMs - this.#clock.now() : 0;
    if (waitMs > 0) throw new SlowDown(Math.ceil(waitMs / 1000), "too many failed sign-ins for this user; retry later");
  }

  failed(username: string): void {
    const now = this.#clock.now();
    const count = (this.#current(username)?.count ?? 0) + 1;
    const delay = count >= FREE_FAILURES ? Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (count - FREE_FAILURES)) : 0;
    this.#failures.delete(username); // re-insert: Map order is then oldest-first for eviction
    this.#failures.set(username, { count, lastMs: now, blockedUntilMs: now + delay });
    if (this.#failures.size > MAX_TRACKED) this.#failures.delete(this.#failures.keys().next().value!);
  }

  succeeded(username: string): void {
    this.#failures.delete(username);
  }

  #current(username: string): Failures | undefined {
    const entry = this.#failures.get(username);
    if (entry && this.#clock.now() - entry.lastMs > FORGET_AFTER_MS) {
      this.#failures.delete(username);
      return undefined;
    }
    return entry;
  }
}
