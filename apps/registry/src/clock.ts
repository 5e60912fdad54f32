/** Time as a dependency, so the scheduler and rate limits run on a fake clock in tests. */

/**
 * Milliseconds since the epoch, from wherever the caller decides.
 * @example
 * ```ts
 * let now = 0;
 * const clock: Clock = { now: () => now };
 * ```
 */
export type Clock = { now(): number };

/**
 * The wall clock.
 * @example
 * ```ts
 * createRegistry({ store, fetcher, clock: systemClock });
 * ```
 */
export const systemClock: Clock = { now: () => Date.now() };
