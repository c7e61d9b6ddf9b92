// Time comes from an injected Clock so that lifetimes can be tested without sleeping.
export type Clock = { now(): number };

export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the epoch, as JWT NumericDate wants. */
export const epochSeconds = (clock: Clock): number => Math.floor(clock.now() / 1000);
