/**
 * The pure decisions behind `Ledger.reserveSponsorship`, shared by every Ledger implementation so that they cannot
 * disagree: which sponsor key has the most room and which nonce it uses next, and whether a payer is still within the
 * sponsorship limits.
 * @module
 */
import type { SponsorCandidate, SponsorLimits } from './ledger.js';

/**
 * What a ledger knows of one sponsor key's nonces: the next never handed out, and those handed back.
 * @example
 * ```ts
 * const books = new Map<string, SponsorNonceBook>([[sponsorAddress, { next: 7n, released: [5n] }]]);
 * const choice = chooseSponsorNonce(candidates, (sponsor) => books.get(sponsor) ?? { next: 0n, released: [] }, 25n);
 * ```
 */
export type SponsorNonceBook = {
  readonly next: bigint;
  /** Nonces handed back for reuse, in any order. */
  readonly released: readonly bigint[];
};

/**
 * The key and nonce chosen, and how the key's book changes.
 * @example
 * ```ts
 * const choice: SponsorNonceChoice | undefined = chooseSponsorNonce(candidates, bookOf, 25n);
 * if (!choice) return { granted: false, reason: 'sponsor_capacity_exhausted', message: 'no sponsor key has room' };
 * // else: store choice.next, and drop choice.stale (and choice.nonce when reused) from the released nonces
 * ```
 */
export type SponsorNonceChoice = {
  readonly sponsor: string;
  readonly nonce: bigint;
  /** The book's `next` after this reservation. */
  readonly next: bigint;
  /** Whether `nonce` came from the returned ones (remove it from them). */
  readonly reused: boolean;
  /** Returned nonces below the chain's confirmed nonce: spent by now, to forget. */
  readonly stale: readonly bigint[];
};

/**
 * Chooses the sponsor nonce to hand out. A returned nonce at or above the chain's confirmed nonce comes first: it is a
 * gap that holds up every later transaction of that key. Otherwise the key with the most room takes its next nonce,
 * where room is how many more transactions the node will chain on it (`capacity` past its confirmed nonce).
 * @returns undefined when no key has room.
 * @example
 * ```ts
 * const choice = chooseSponsorNonce(
 *   [{ sponsor: 'ST1…', confirmedNext: 4n, possibleNext: 6n }],
 *   (sponsor) => ({ next: 7n, released: [5n] }),
 *   25n,
 * ); // { sponsor: 'ST1…', nonce: 5n, next: 7n, reused: true, stale: [] }
 * ```
 */
export function chooseSponsorNonce(
  candidates: readonly SponsorCandidate[],
  bookOf: (sponsor: string) => SponsorNonceBook,
  capacity: bigint,
): SponsorNonceChoice | undefined {
  let best: (SponsorNonceChoice & { room: bigint }) | undefined;
  for (const candidate of candidates) {
    const book = bookOf(candidate.sponsor);
    const stale = book.released.filter((nonce) => nonce < candidate.confirmedNext);
    const reusable = book.released.filter((nonce) => nonce >= candidate.confirmedNext);
    const limit = candidate.confirmedNext + capacity;
    if (reusable.length > 0) {
      const nonce = lowest(reusable);
      if (nonce >= limit) continue;
      // A gap first: lower than any fresh nonce, and the lowest gap of all keys first.
      const choice = { sponsor: candidate.sponsor, nonce, next: book.next, reused: true, stale };
      if (!best?.reused || nonce < best.nonce) best = { ...choice, room: limit - nonce };
      continue;
    }
    const nonce = highest([book.next, candidate.possibleNext]);
    const room = limit - nonce;
    if (room <= 0n || best?.reused) continue;
    if (!best || room > best.room) {
      best = { sponsor: candidate.sponsor, nonce, next: nonce + 1n, reused: false, stale, room };
    }
  }
  if (!best) return undefined;
  const { room: _room, ...choice } = best;
  return choice;
}

// Bigints: Math.min and Math.max would throw on them.
function lowest(values: readonly bigint[]): bigint {
  let low = values[0]!;
  for (const value of values) if (value < low) low = value;
  return low;
}

function highest(values: readonly bigint[]): bigint {
  let high = values[0]!;
  for (const value of values) if (value > high) high = value;
  return high;
}

/**
 * What a ledger counts for the limits, within the window.
 * @example
 * ```ts
 * const usage: SponsorUsage = { inFlightOfPayer: 2, feesOfPayer: 6_000n, feesTotal: 90_000n, failedOfPayer: 0 };
 * sponsorLimitProblem(usage, 3_000n, DEFAULT_SPONSOR_LIMITS); // undefined: it fits
 * ```
 */
export type SponsorUsage = {
  /** The payer's sponsored settlements not final yet. */
  readonly inFlightOfPayer: number;
  readonly feesOfPayer: bigint;
  readonly feesTotal: bigint;
  readonly failedOfPayer: number;
};

/**
 * Which limit a new sponsorship of `fee` would break, as a message; undefined when it fits.
 * @example
 * ```ts
 * sponsorLimitProblem({ inFlightOfPayer: 0, feesOfPayer: 0n, feesTotal: 0n, failedOfPayer: 1 }, 300n, limits);
 * // 'this payer already had 1 sponsored transaction(s) fail on chain within 3600 s (limit 1)', at the default limits
 * ```
 */
export function sponsorLimitProblem(
  usage: SponsorUsage,
  fee: bigint,
  limits: SponsorLimits,
): string | undefined {
  const window = `${Math.round(limits.windowMs / 1000)} s`;
  if (usage.failedOfPayer >= limits.maxFailedPerPayer) {
    return `this payer already had ${usage.failedOfPayer} sponsored transaction(s) fail on chain within ${window} (limit ${limits.maxFailedPerPayer})`;
  }
  if (usage.inFlightOfPayer >= limits.maxInFlightPerPayer) {
    return `this payer already has ${usage.inFlightOfPayer} sponsored payment(s) in flight (limit ${limits.maxInFlightPerPayer})`;
  }
  if (usage.feesOfPayer + fee > limits.maxFeesPerPayer) {
    return `sponsoring would take this payer's fees within ${window} to ${usage.feesOfPayer + fee} micro-STX (limit ${limits.maxFeesPerPayer})`;
  }
  if (usage.feesTotal + fee > limits.maxFeesTotal) {
    return `sponsoring would take all fees within ${window} to ${usage.feesTotal + fee} micro-STX (limit ${limits.maxFeesTotal})`;
  }
  return undefined;
}
