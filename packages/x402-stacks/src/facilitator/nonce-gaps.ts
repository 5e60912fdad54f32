/**
 * Reading gaps from an account's nonces as the Stacks API reports them. Hiro lists the missing nonces only between
 * the last executed nonce and the last pending one: before an account's first transaction is mined it lists none, and
 * a gap then shows only as pending transactions that never confirm. So for such an account a nonce below the highest
 * pending one may be held or may be a gap, and only that highest one is known to be held.
 * @module
 */
import type { AccountNonces } from '../chain/types.js';
import { MEMPOOL_CHAIN_LIMIT } from './context.js';

/** Whether a transaction holds a nonce, pending or mined, as far as the API's nonces tell. */
export type NonceHolding = 'held' | 'free' | 'unknown';

/**
 * Whether a transaction holds `nonce`: mined below the confirmed nonce, pending unless listed missing, free at or past
 * the next possible one. On an account whose gaps the API does not list (nothing mined, none listed), a nonce below
 * the highest pending one is `unknown`.
 * @example
 * ```ts
 * nonceHolding({ confirmedNext: 4n, possibleNext: 7n, missing: [5n] }, 5n); // 'free': listed missing
 * nonceHolding({ confirmedNext: 0n, possibleNext: 3n, missing: [] }, 2n); // 'held': the highest pending one
 * nonceHolding({ confirmedNext: 0n, possibleNext: 3n, missing: [] }, 0n); // 'unknown': it may be a gap
 * ```
 */
export function nonceHolding(nonces: AccountNonces, nonce: bigint): NonceHolding {
  const { confirmedNext, possibleNext, missing } = nonces;
  if (nonce < confirmedNext) return 'held';
  if (nonce >= possibleNext || missing.includes(nonce)) return 'free';
  return gapsListed(nonces) || nonce === possibleNext - 1n ? 'held' : 'unknown';
}

/**
 * The nonces that may be gaps: the listed ones, or, where the API lists none for an account with nothing mined, every
 * nonce below the highest pending one (at most the node's chaining limit of them).
 * @example
 * ```ts
 * possibleGaps({ confirmedNext: 0n, possibleNext: 3n, missing: [] }); // [0n, 1n]: either may be missing
 * possibleGaps({ confirmedNext: 4n, possibleNext: 7n, missing: [5n] }); // [5n]
 * ```
 */
export function possibleGaps(nonces: AccountNonces): readonly bigint[] {
  if (gapsListed(nonces) || nonces.possibleNext < 2n) return nonces.missing;
  const below = nonces.possibleNext - 1n;
  const count = below < MEMPOOL_CHAIN_LIMIT ? below : MEMPOOL_CHAIN_LIMIT;
  return Array.from({ length: Number(count) }, (_, nonce) => BigInt(nonce));
}

/**
 * Whether `missing` says all there is: the account has a mined transaction, or the API listed gaps anyway.
 * @example
 * ```ts
 * gapsListed({ confirmedNext: 0n, possibleNext: 3n, missing: [] }); // false: possibleGaps guesses them
 * ```
 */
export function gapsListed({ confirmedNext, missing }: AccountNonces): boolean {
  return confirmedNext > 0n || missing.length > 0;
}
