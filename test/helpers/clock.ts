// A clock tests move by hand: lifetimes are tested without sleeping.
import type { Clock } from "../../src/domain/clock.js";

export class SettableClock implements Clock {
  #ms: number;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#ms = start;
  }

  now(): number {
    return this.#ms;
  }

  advance(seconds: number): void {
    this.#ms += seconds * 1000;
  }
}
