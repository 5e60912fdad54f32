/**
 * The challenges a buyer paid over a channel lately, by method and URL, so that the next request to the same resource
 * carries its voucher at once instead of first asking for a 402. A voucher only lets the channel's receiver claim up
 * to the next cumulative total, for the same receiver the buyer paid a moment ago, so sending it unasked risks
 * nothing a 402 would have protected: the payment goes through the same policy, budget and consent as any other, and
 * a 402 to it (a price change, a channel that moved on) is paid as usual from that 402.
 * @module
 */
import type { PaymentChallenge } from '../challenge.js';

/** How long a paid challenge is sent again unasked, ms. */
const REMEMBER_MS = 60_000;
/** Resources remembered at most; past it the oldest is dropped. */
const MAX_RESOURCES = 256;

/**
 * What a payer remembers to pay ahead.
 * @example
 * ```ts
 * const ahead = createPayAheadMemory();
 * const known = ahead.challengeFor('GET', url); // pay it with the first request
 * ```
 */
export type PayAheadMemory = {
  /** The challenge last paid over a channel for this method and URL, while it is recent. */
  challengeFor(method: string, url: string): PaymentChallenge | undefined;
  /** A channel payment of `challenge` was served at this method and URL. */
  served(method: string, url: string, challenge: PaymentChallenge): void;
  /** A payment at this method and URL was refused: the next request asks for a 402 first. */
  forget(method: string, url: string): void;
};

/**
 * Creates an empty memory.
 * @example
 * ```ts
 * const ahead = createPayAheadMemory(() => Date.now());
 * ```
 */
export function createPayAheadMemory(now: () => number = Date.now): PayAheadMemory {
  const paid = new Map<string, { challenge: PaymentChallenge; at: number }>();
  const keyOf = (method: string, url: string) => `${method.toUpperCase()} ${url}`;
  return {
    challengeFor(method, url) {
      const key = keyOf(method, url);
      const known = paid.get(key);
      if (!known) return undefined;
      if (now() - known.at > REMEMBER_MS) {
        paid.delete(key);
        return undefined;
      }
      return known.challenge;
    },
    served(method, url, challenge) {
      const key = keyOf(method, url);
      paid.delete(key);
      if (paid.size >= MAX_RESOURCES) paid.delete(paid.keys().next().value!);
      paid.set(key, { challenge, at: now() });
    },
    forget(method, url) {
      paid.delete(keyOf(method, url));
    },
  };
}
