/**
 * Reading gaps from an account's nonces as the Stacks API reports them. Hiro lists the missing nonces only between
 * the last executed nonce and the last pending one: before an account's first transaction is mined it lists none, and
 * a gap then shows only as pending transactions that never confirm. So for such an account every nonce below the
 * highest pending one may be a gap, and only that highest one is known to be held.
 * @module
 */
import type { AccountNonces } from '../chain/types.js';
import { MEMPOOL_CHAIN_LIMIT } from './context.js';

/**
 * The nonces that may be gaps: the listed ones, or, before the account's first mined transaction, every nonce below
 * the highest pending one (at most the node's chaining limit of them).
 * @example
 * ```ts
 * possibleGaps({ confirmedNext: 0n, possibleNext: 3n, missing: [] }); // [0n, 1n]: either may be missing
 * possibleGaps({ confirmedNext: 4n, possibleNext: 7n, missing: [5n] }); // [5n]
 * ```
 */
export function possibleGaps({
  confirmedNext,
  possibleNext,
  missing,
}: AccountNonces): readonly bigint[] {
  if (confirmedNext > 0n || possibleNext < 2n) return missing;
  const below = possibleNext - 1n < MEMPOOL_CHAIN_LIMIT ? possibleNext - 1n : MEMPOOL_CHAIN_LIMIT;
  return Array.from({ length: Number(below) }, (_, nonce) => BigInt(nonce));
}

/**
 * Whether a transaction is known to hold `nonce`, pending or mined: below the next possible nonce and not a gap, where
 * the gaps are known. A nonce that may be a gap (see {@link possibleGaps}) is not known to be held.
 * @example
 * ```ts
 * nonceHeld({ confirmedNext: 0n, possibleNext: 3n, missing: [] }, 2n); // true: the highest pending one
 * nonceHeld({ confirmedNext: 0n, possibleNext: 3n, missing: [] }, 0n); // false: it may be a gap
 * ```
 */
export function nonceHeld(nonces: AccountNonces, nonce: bigint): boolean {
  if (nonce < nonces.confirmedNext) return true;
  return nonce < nonces.possibleNext && !possibleGaps(nonces).includes(nonce);
}
