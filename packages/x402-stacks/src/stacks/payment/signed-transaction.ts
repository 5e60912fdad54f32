/**
 * The signed transaction a payment payload carries, and its id: what the seller (to match and reserve a payment) and
 * the facilitator (to find a replay before anything else) both read off a payload.
 * @module
 */
import { fromHex } from '../bytes.js';
import { transactionIdOf } from '../signature.js';

const HEX = /^(0x)?([0-9a-fA-F]{2})+$/;

/**
 * The signed transaction hex of a payload: `transaction` (x402-stacks), or `signedTransaction` as the draft Stacks
 * spec names it; undefined when neither is a non-empty string.
 * @example
 * ```ts
 * signedTransactionOf({ transaction: '0x8080…' }); // '0x8080…'
 * signedTransactionOf({}); // undefined
 * ```
 */
export function signedTransactionOf(
  payload: Readonly<Record<string, unknown>>,
): string | undefined {
  const value = payload.transaction ?? payload.signedTransaction;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The id of the transaction as the buyer signed it (a sponsor's signature changes the on-chain one), or undefined
 * when the payload carries no hex transaction. Costs a hash, no decoding.
 * @example
 * ```ts
 * signedTransactionIdOf({ transaction: hex }); // 'e161…09f2'
 * ```
 */
export function signedTransactionIdOf(
  payload: Readonly<Record<string, unknown>>,
): string | undefined {
  const transaction = signedTransactionOf(payload);
  if (transaction === undefined || !HEX.test(transaction)) return undefined;
  return transactionIdOf(fromHex(transaction.replace(/^0x/, '')));
}
