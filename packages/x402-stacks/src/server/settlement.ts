/**
 * Settling through the facilitator, and what to do with `settlement_pending`: the transaction is out but not
 * confirmed, so the facilitator's `GET /settlements/:txid` is asked a bounded number of times for the outcome. A
 * settlement still pending after that is not a success: the resource is never served on it. A settle call that timed
 * out is never served either: it answers `settlement_pending` when the facilitator knows the transaction.
 * @module
 */
import type { PaymentPayload, PaymentRequirements, SettleResponse } from '../protocol/v2.js';
import { FacilitatorRequestError } from './errors.js';
import type { FacilitatorClient } from './facilitator-client.js';

/** How long to keep asking about a pending settlement. */
export type PendingPolicy = {
  readonly attempts: number;
  readonly intervalMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Settles, then follows a pending settlement to its outcome within the policy: `attempts` status calls, `intervalMs`
 * apart. Returns the facilitator's answer, replaced by the final one when the status settled in time; a still-pending
 * answer keeps its txid. A settle that timed out, with the transaction known to the facilitator, answers
 * `settlement_pending` without following it: the status is not bound to this payment's route and price.
 * @throws {FacilitatorRequestError} when `settle` itself gets no usable answer.
 */
export async function settlePayment(
  facilitator: FacilitatorClient,
  payload: PaymentPayload,
  requirements: PaymentRequirements,
  signedTxid: string,
  policy: PendingPolicy,
): Promise<SettleResponse> {
  let settled: SettleResponse;
  try {
    settled = await facilitator.settle(payload, requirements);
  } catch (error) {
    // A settle that timed out may have been broadcast all the same: the facilitator knows it by the payment's own
    // txid. Unknown, the buyer was not charged and the error stands. Known, it is answered as pending and never
    // followed to a success: a status is looked up by txid alone, not bound to this request, so a success may be an
    // old settlement of the same transaction for another route or price (a replay). Only the facilitator's own
    // `settlement_pending` answer to this settle call, which only the claiming call gets, is followed below.
    if (!(error instanceof FacilitatorRequestError && error.timedOut) || signedTxid === '')
      throw error;
    const known = await facilitator.status(signedTxid).catch(() => undefined);
    if (!known || known.state === 'failed') throw error;
    return {
      success: false,
      errorReason: 'settlement_pending',
      transaction: known.transaction,
      network: requirements.network,
      payer: known.payer,
    };
  }
  if (settled.success || settled.errorReason !== 'settlement_pending') return settled;
  const sleep = policy.sleep ?? defaultSleep;
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    // A status call that fails is one lost look, not a verdict: the payment stays pending.
    const status = await facilitator.status(settled.transaction).catch(() => undefined);
    if (status?.state === 'success') {
      return {
        success: true,
        transaction: status.transaction,
        network: settled.network,
        ...(settled.payer ? { payer: settled.payer } : {}),
      };
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
