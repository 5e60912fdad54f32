/** Time as a dependency, so the scheduler and rate limits run on a fake clock in tests. */

/** Milliseconds since the epoch. */
export type Clock = { now(): number };

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
