/**
 * Settling through the facilitator, and what to do with `settlement_pending`: the transaction is out but not
 * confirmed, so the facilitator's `GET /settlements/:txid` is asked a bounded number of times for the outcome. A
 * settlement still pending after that is not a success: the resource is never served on it.
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
 * answer keeps its txid.
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
    // A settle that timed out may have been broadcast all the same: the facilitator finds it by the payment's own
    // txid. Known, it is followed like a pending one; unknown, the buyer was not charged and the error stands.
    if (!(error instanceof FacilitatorRequestError && error.timedOut) || signedTxid === '')
      throw error;
    const known = await facilitator.status(signedTxid).catch(() => undefined);
    if (!known || known.state === 'failed') throw error;
    settled = {
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
