/**
 * Which answer about a payment counts for one claim of it. A ledger keeps one answer per payment, and names the claim
 * it was given about; a payment released and claimed afresh is a new claim, and a `pending` answer about the old one
 * served nobody.
 * @module
 */
import type { SettlementAnswer } from './ledger.js';

/**
 * An answer as a ledger stores it: what was answered, and about which claim (undefined when the caller named none).
 * @example
 * ```ts
 * const stored: StoredAnswer = { answer: 'pending', claimedAt: record.createdAt };
 * answerForClaim(stored, record.createdAt); // 'pending': the answer about this claim
 * ```
 */
export type StoredAnswer = {
  readonly answer: SettlementAnswer;
  readonly claimedAt: number | undefined;
};

/**
 * The stored answer as the claim made at `claimedAt` sees it: a `pending` answer given about another claim is none. A
 * `success` counts for every claim (the payment was served), and so does an answer that names no claim (recorded by a
 * ledger or caller from before answers named theirs). Without `claimedAt`, every answer counts.
 * @example
 * ```ts
 * answerForClaim({ answer: 'pending', claimedAt: 1_000 }, 2_000); // undefined: about a claim released since
 * answerForClaim({ answer: 'success', claimedAt: 1_000 }, 2_000); // 'success'
 * ```
 */
export function answerForClaim(
  stored: StoredAnswer | undefined,
  claimedAt: number | undefined,
): SettlementAnswer | undefined {
  if (!stored) return undefined;
  const aboutAnother =
    stored.answer === 'pending' &&
    claimedAt !== undefined &&
    stored.claimedAt !== undefined &&
    stored.claimedAt !== claimedAt;
  return aboutAnother ? undefined : stored.answer;
}
