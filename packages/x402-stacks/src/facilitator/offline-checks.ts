/**
 * The offline check of a payment (step 5 of verification: decoding, the origin signature, the terms) remembered for a
 * while. It depends only on the transaction's bytes, the requirements and the facilitator's own options, so its answer
 * never changes; and a payment is checked at least twice, by `/verify` and again by `/settle`, besides sellers and
 * buyers that verify before they settle. The memo is bounded: the oldest entry leaves when it is full, so a flood of
 * distinct junk costs memory up to the bound and no more.
 * @module
 */
import type { PaymentRequirements } from '../protocol/v2.js';
import {
  type CheckPaymentOptions,
  checkAgainstTerms,
  type PaymentCheck,
} from '../stacks/payment/check.js';
import type { PaymentTerms } from '../stacks/payment/terms.js';

/** The offline check, answered from memory when the same payment was checked against the same requirements. */
export type OfflineChecks = (
  transaction: string,
  requirements: PaymentRequirements,
  terms: PaymentTerms,
) => PaymentCheck;

/** Entries kept: a payment is well under 2 KiB with its requirements, so the memo stays under a few MiB. */
export const OFFLINE_CHECKS_KEPT = 2048;

/**
 * Builds the memo for one facilitator's check options.
 * @example
 * ```ts
 * const offlineCheck = rememberOfflineChecks(context.checkOptions);
 * const offline = offlineCheck(transaction, requirements, terms);
 * ```
 */
export function rememberOfflineChecks(
  options: CheckPaymentOptions,
  kept: number = OFFLINE_CHECKS_KEPT,
): OfflineChecks {
  const memo = new Map<string, PaymentCheck>();
  return (transaction, requirements, terms) => {
    // The requirements as parsed: everything the terms were resolved from, in the order the sender wrote it.
    const key = `${transaction}\u0000${JSON.stringify(requirements)}`;
    const known = memo.get(key);
    if (known) return known;
    const check = checkAgainstTerms(transaction, terms, options);
    if (memo.size >= kept) memo.delete(memo.keys().next().value!);
    memo.set(key, check);
    return check;
  };
}
