/**
 * The offline check of a payment (step 5 of verification: decoding, the origin signature, the terms) remembered for a
 * while. It depends only on the transaction's bytes, the requirements and the facilitator's own options, so its answer
 * never changes; and a payment is checked at least twice, by `/verify` and again by `/settle`, besides sellers and
 * buyers that verify before they settle. The memo is bounded in entries and in characters: the oldest entries leave
 * when it is full, so a flood of distinct junk costs memory up to the bound and no more. The character bound matters
 * because the junk may be as large as a request body (64 KiB by default), thirty times a real payment.
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

/** Entries kept: a payment is well under 2 KiB with its requirements. */
export const OFFLINE_CHECKS_KEPT = 2048;

/** Characters of keys kept in all (a key is the transaction hex and the requirements' JSON): a few MiB at most. */
export const OFFLINE_CHECKS_CHARS = 2 * 1024 * 1024;

/** The longest key kept: four times a large payment with its requirements. */
const LARGEST_KEPT = 8 * 1024;

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
  chars: number = OFFLINE_CHECKS_CHARS,
): OfflineChecks {
  const memo = new Map<string, PaymentCheck>();
  let held = 0;
  return (transaction, requirements, terms) => {
    // The requirements as parsed: everything the terms were resolved from, in the order the sender wrote it.
    const key = `${transaction}\u0000${JSON.stringify(requirements)}`;
    const known = memo.get(key);
    if (known) return known;
    const check = checkAgainstTerms(transaction, terms, options);
    // Nothing that large is a payment (a payment is under 2 KiB): checked, never kept, so it cannot push out many
    // real payments at once.
    if (key.length > Math.min(chars, LARGEST_KEPT)) return check;
    while (memo.size >= kept || held + key.length > chars) {
      const oldest = memo.keys().next().value!;
      memo.delete(oldest);
      held -= oldest.length;
    }
    memo.set(key, check);
    held += key.length;
    return check;
  };
}
