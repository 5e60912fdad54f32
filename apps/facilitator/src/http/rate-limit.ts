/**
 * Per-IP rate limiting: a token bucket per client address (an IPv6 client's /64, the block its provider gives it),
 * refilled continuously. A client may burst up to its per-minute allowance and then proceeds at the sustained rate;
 * past it, 429 with `Retry-After`.
 * @module
 */

import { callerKey } from '@x402-stacks/service-runtime';
import type { Context, MiddlewareHandler } from 'hono';

export type RateLimitOptions = {
  /** Sustained requests per minute per client address; also the burst size. */
  requestsPerMinute: number;
  /** Which address a request counts against. */
  clientAddress: (c: Context) => string;
  now?: () => number;
};

/** Buckets kept before idle, refilled ones are swept; bounds memory under a spray of addresses. */
const SWEEP_AT = 10_000;

/**
 * @example
 * ```ts
 * app.use('/settle', rateLimit({ requestsPerMinute: 600, clientAddress: () => '127.0.0.1' }));
 * ```
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const capacity = options.requestsPerMinute;
  const perMs = capacity / 60_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();

  function take(address: string): number {
    const time = now();
    const bucket = buckets.get(address) ?? { tokens: capacity, at: time };
    bucket.tokens = Math.min(capacity, bucket.tokens + (time - bucket.at) * perMs);
    bucket.at = time;
    buckets.set(address, bucket);
    if (buckets.size > SWEEP_AT) sweep(time);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / perMs / 1000);
  }

  function sweep(time: number): void {
    for (const [address, bucket] of buckets) {
      if (bucket.tokens + (time - bucket.at) * perMs >= capacity) buckets.delete(address);
    }
  }

  return async (c, next) => {
    // An IPv6 client counts by its /64, the block its provider gives it.
    const waitSeconds = take(callerKey(options.clientAddress(c)));
    if (waitSeconds === 0) return next();
    c.header('retry-after', String(waitSeconds));
    return c.json(
      {
        error: 'rate_limited',
        details: `more than ${capacity} requests a minute from this address; retry in ${waitSeconds} s`,
      },
      429,
    );
  };
}
