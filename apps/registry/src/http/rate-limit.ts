/**
 * A per-client rate limit: a token bucket per key, refilled continuously, on an injectable clock. Buckets that
 * have refilled completely are forgotten, so memory follows the number of recent clients.
 * @module
 */
import type { Clock } from '../clock.js';

/** A rate limiter. */
export type RateLimiter = {
  /** Takes one token for `key`: `{allowed: true}`, or how long until one is available. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number };
};

/**
 * Creates a limiter allowing `perHour` requests per key per hour, in bursts of up to `perHour`.
 * @example
 * ```ts
 * const limiter = createRateLimiter({ perHour: 30, clock: systemClock });
 * limiter.take('203.0.113.7').allowed; // true
 * ```
 */
export function createRateLimiter(options: { perHour: number; clock: Clock }): RateLimiter {
  const capacity = options.perHour;
  const perMs = capacity / 3_600_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const now = options.clock.now();
      if (buckets.size > 10_000) {
        for (const [k, b] of buckets)
          if (b.tokens + (now - b.at) * perMs >= capacity) buckets.delete(k);
      }
      const bucket = buckets.get(key) ?? { tokens: capacity, at: now };
      const tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
      if (tokens < 1) {
        buckets.set(key, { tokens, at: now });
        return { allowed: false, retryAfterSeconds: Math.ceil((1 - tokens) / perMs / 1000) };
      }
      buckets.set(key, { tokens: tokens - 1, at: now });
      return { allowed: true };
    },
  };
}
