/**
 * Whether a batch-settlement payment accepts exactly the requirements it is held to: the facilitator's step 3, and the
 * seller's when it admits a voucher without asking the facilitator. Both sides compare the same way, so a payment
 * the seller lets through on its own is never one the facilitator then refuses for its terms.
 * @module
 */
import type { PaymentRequirements } from '../protocol/v2.js';

/**
 * What differs between the requirements a payment accepts and the ones it is held to (the offer's escrow, authorizer
 * and delay included), or undefined when nothing does.
 * @example
 * ```ts
 * const mismatch = acceptedMismatch(payment.accepted, requirements);
 * if (mismatch) return refuse('invalid_payment_requirements', mismatch);
 * ```
 */
export function acceptedMismatch(
  accepted: PaymentRequirements,
  requirements: PaymentRequirements,
): string | undefined {
  if (accepted.scheme !== requirements.scheme) return 'the payment accepts another scheme';
  if (accepted.network !== requirements.network) return 'the payment accepts another network';
  if (accepted.asset !== requirements.asset) return 'the payment accepts another asset';
  if (accepted.amount !== requirements.amount) return 'the payment accepts another amount';
  if (accepted.payTo !== requirements.payTo) return 'the payment accepts another payTo';
  for (const key of ['escrow', 'receiverAuthorizer', 'withdrawDelay'] as const) {
    if (accepted.extra?.[key] !== requirements.extra?.[key])
      return `the payment accepts another extra.${key}`;
  }
  return undefined;
}
