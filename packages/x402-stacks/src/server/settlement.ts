/**
 * Settling through the facilitator, and what to do when the answer is not a success yet.
 *
 * - `settlement_pending`: the transaction is out but not confirmed. The facilitator's `GET /settlements/:txid` is asked
 *   a bounded number of times; once it says `success` for this request's terms and resource, the same settle is sent
 *   again, and served only if the facilitator answers it `success`. Still pending after that: not served.
 * - A settle call that timed out: when the facilitator knows the transaction, confirmed and bound to this request,
 *   the same settle is sent again (the facilitator kept the success for it: the call hung up); otherwise the buyer is
 *   answered `settlement_pending`.
 * - `duplicate_settlement` for a payment the facilitator still settles (claimed or broadcast, bound to this request):
 *   the buyer is answered `settlement_pending`, so it retries once the payment is confirmed.
 *
 * Why the second settle rather than the status: a status is read by txid by anyone, any number of times, while the
 * facilitator turns a pending answer into a success once, atomically, in its ledger. Which request is served is its
 * decision, so two retries of one payment (in one seller, two, or two processes) are never both served, and a payment
 * already served is never served again.
 * @module
 */
import type { PaymentPayload, PaymentRequirements, SettleResponse } from '../protocol/v2.js';
import { isBoundTo } from './bound-status.js';
import { FacilitatorRequestError } from './errors.js';
import type { FacilitatorClient, FacilitatorSettlementStatus } from './facilitator-client.js';

/** How long to keep asking about a pending settlement. */
export type PendingPolicy = {
  readonly attempts: number;
  readonly intervalMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
};

/** What is settled: the payment, the route's entry it pays, and the resource URL of the request. */
export type SettleTarget = {
  readonly payload: PaymentPayload;
  readonly requirements: PaymentRequirements;
  /** The route's resource URL, as the 402 named it: what the settlement is bound to. */
  readonly resourceUrl: string;
  /** The txid of the transaction the buyer signed ('' when it cannot be read). */
  readonly signedTxid: string;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Settles, then follows a pending settlement to its outcome within the policy: `attempts` status calls, `intervalMs`
 * apart. Returns the facilitator's answer, replaced by the final one when the payment settled in time; a
 * still-pending answer keeps its txid.
 * @throws {FacilitatorRequestError} when `settle` itself gets no usable answer.
 */
export async function settlePayment(
  facilitator: FacilitatorClient,
  target: SettleTarget,
  policy: PendingPolicy,
): Promise<SettleResponse> {
  const { requirements, resourceUrl, signedTxid } = target;
  // The resource is the seller's, never the buyer's echo: the facilitator records it, and binds the settlement to it.
  const payload: PaymentPayload = {
    ...target.payload,
    resource: { ...target.payload.resource, url: resourceUrl },
  };
  const settleAgain = () => facilitator.settle(payload, requirements);
  const bound = (status: FacilitatorSettlementStatus | undefined) =>
    status !== undefined && isBoundTo(status, requirements, resourceUrl);
  let settled: SettleResponse;
  try {
    settled = await facilitator.settle(payload, requirements);
  } catch (error) {
    // A settle that timed out may have been broadcast all the same: the facilitator knows it by the payment's own
    // txid. Unknown, the buyer was not charged and the error stands.
    if (!(error instanceof FacilitatorRequestError && error.timedOut) || signedTxid === '')
      throw error;
    const known = await facilitator.status(signedTxid).catch(() => undefined);
    if (!known || known.state === 'failed') throw error;
    // Confirmed for this very request: the facilitator decides whether this request is the one served.
    if (known.state === 'success' && bound(known)) return settleAgain();
    return pendingOf(known, requirements);
  }
  if (settled.success) return settled;
  if (settled.errorReason === 'duplicate_settlement') {
    // Still being settled for this request: not served yet, but not lost either.
    const status = await statusOf(facilitator, settled.transaction || signedTxid);
    return status && isOpen(status) && bound(status) ? pendingOf(status, requirements) : settled;
  }
  if (settled.errorReason !== 'settlement_pending') return settled;
  const sleep = policy.sleep ?? defaultSleep;
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    // A status call that fails is one lost look, not a verdict: the payment stays pending.
    const status = await statusOf(facilitator, settled.transaction);
    if (status?.state === 'success') {
      // Confirmed, but a status is not bound to anything unless its terms say so: a success for another route or
      // price is never served here. Bound, the facilitator answers the same settle `success` to one request only.
      return bound(status) ? settleAgain() : settled;
    }
    if (status?.state === 'failed') {
      return {
        ...settled,
        errorReason: status.errorReason ?? 'transaction_failed',
        errorMessage: 'the transaction failed after it was broadcast',
      };
    }
    if (attempt + 1 < policy.attempts) await sleep(policy.intervalMs);
  }
  return settled;
}

function statusOf(
  facilitator: FacilitatorClient,
  txid: string,
): Promise<FacilitatorSettlementStatus | undefined> {
  return txid === '' ? Promise.resolve(undefined) : facilitator.status(txid).catch(() => undefined);
}

function isOpen(status: FacilitatorSettlementStatus): boolean {
  return status.state === 'claimed' || status.state === 'broadcast';
}

function pendingOf(
  status: FacilitatorSettlementStatus,
  requirements: PaymentRequirements,
): SettleResponse {
  return {
    success: false,
    errorReason: 'settlement_pending',
    transaction: status.transaction,
    network: requirements.network,
    payer: status.payer,
  };
}
