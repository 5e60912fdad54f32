/**
 * A batch-settlement payment waiting for the server's answer: it holds the channel (and, for a deposit, the account's
 * nonce) until the answer, then moves the buyer's channel record by what the answer proves. The budget counts the
 * request's price, the most it can be charged, never the deposit: a deposit stays the buyer's until it is charged.
 *
 * A refusal for a stale charged total (`invalid_batch_settlement_stacks_cumulative_amount_mismatch`) carries the
 * seller side's total in the corrective 402; it is adopted only when backed by a voucher the buyer signed, and then
 * {@link PreparedPayment.resynchronised} tells the wrappers to pay the same challenge once more.
 * @module
 */

import { decodePaymentRequiredHeader, PAYMENT_HEADERS } from '../../protocol/headers.js';
import type { StacksNetworkId } from '../../stacks/networks.js';
import type { StacksPaymentRequirements } from '../../stacks/payment/terms.js';
import type { BudgetReservation } from '../budget.js';
import { PaymentNetworkError, PaymentRejectedError, SettlementPendingError } from '../errors.js';
import { type PaidAnswer, readPaymentOutcome } from '../outcome.js';
import type { PaymentReceipt, PreparedPayment } from '../prepared.js';
import type { BatchAttempt } from './batch-buyer.js';

/** Everything a prepared batch payment needs to read its answer. */
export type PreparedBatchParts = {
  readonly url: string;
  readonly header: PreparedPayment['header'];
  readonly paymentId: string | undefined;
  readonly lostResponseRetries: number;
  readonly requirements: StacksPaymentRequirements;
  readonly asset: string;
  readonly network: StacksNetworkId;
  readonly payer: string;
  readonly attempt: BatchAttempt;
  readonly reservation: BudgetReservation;
  readonly onPaymentSettled: ((receipt: PaymentReceipt) => unknown) | undefined;
  /** The request was served: its challenge may be paid ahead next time. */
  readonly onServed?: () => void;
  /** Refused, or served without a receipt: nothing is paid ahead there until a charge is reported again. */
  readonly onRefused?: () => void;
};

/**
 * Wraps a batch attempt with the bookkeeping of its outcome.
 * @example
 * ```ts
 * const prepared = createPreparedBatchPayment({ url, header, paymentId, lostResponseRetries: 1, requirements, asset,
 *   network, payer, attempt, reservation, onPaymentSettled: undefined });
 * ```
 */
export function createPreparedBatchPayment(parts: PreparedBatchParts): PreparedPayment {
  const { attempt, reservation } = parts;
  const txid = attempt.deposit?.txid ?? '';
  let resynchronised = false;
  return {
    header: parts.header,
    requirements: parts.requirements,
    txid,
    nonce: attempt.deposit?.nonce,
    paymentId: parts.paymentId,
    lostResponseRetries: parts.lostResponseRetries,
    resynchronised: () => resynchronised,

    async complete(answer, response) {
      const outcome = readPaymentOutcome(2, answer);
      switch (outcome.kind) {
        case 'served': {
          await reservation.consume();
          const extra = (outcome.settlement as { extra?: unknown } | undefined)?.extra;
          await attempt.served(extra);
          // Only a charge the seller reported keeps the resource paid ahead: a 2xx without a receipt may be a route
          // that stopped charging, and vouchers sent there unasked would keep counting against the budget.
          if (outcome.settlement?.success === true) parts.onServed?.();
          else parts.onRefused?.();
          const charged = chargedAmountOf(extra);
          const receipt: PaymentReceipt = {
            url: parts.url,
            requirements: parts.requirements,
            amount: attempt.price,
            asset: parts.asset,
            payer: parts.payer,
            network: parts.network,
            signedTxid: txid,
            txid: outcome.txid ?? txid,
            nonce: attempt.deposit?.nonce,
            fee: attempt.deposit?.fee ?? 0n,
            settlement: outcome.settlement,
            batch: {
              type: attempt.payload.type,
              channelId: attempt.channel.channelId,
              maxClaimableAmount: BigInt(attempt.payload.voucher.maxClaimableAmount),
              ...(charged === undefined ? {} : { chargedAmount: charged }),
              ...(attempt.deposit ? { deposit: attempt.deposit.amount } : {}),
            },
          };
          try {
            await parts.onPaymentSettled?.(receipt);
          } catch {
            // A logging hook must not turn a paid, served response into a failure.
          }
          return receipt;
        }
        case 'pending':
          await reservation.consume();
          await attempt.pending();
          throw new SettlementPendingError(outcome.txid, { response });
        case 'rejected': {
          parts.onRefused?.();
          const result = await attempt.refused(
            outcome.reason,
            correctiveExtra(answer, parts.requirements),
          );
          resynchronised = result.resynced;
          // The price stays counted even when the corrected total supersedes the refused voucher: that total is the
          // seller side's word, backed only by a voucher the buyer signed (possibly this very one), so releasing here
          // would let a seller that answers every voucher with a "corrective" 402 raise what it can claim by a price
          // per refusal while the budget counts nothing. A lost race between two of the buyer's own processes is
          // then counted once too many: the budget errs on the side of the buyer's money.
          await reservation.consume();
          throw new PaymentRejectedError(
            {
              facilitatorReason: outcome.reason,
              ...(outcome.message ? { message: outcome.message } : {}),
              ...(outcome.txid ? { txid: outcome.txid } : {}),
            },
            { response },
          );
        }
        case 'unknown':
          await reservation.consume();
          await attempt.unanswered(true);
          return undefined;
      }
    },

    fail(cause, proof) {
      const sent = proof?.sent !== false;
      void attempt.unanswered(sent);
      if (sent) void reservation.consume();
      else void reservation.release();
      return new PaymentNetworkError(
        'retry',
        { txid, ...(sent ? {} : { sent: false }) },
        { cause },
      );
    },
  };
}

/** `extra.chargedAmount` of a served answer, when it is a well-formed amount. */
function chargedAmountOf(extra: unknown): bigint | undefined {
  const value = (extra as { chargedAmount?: unknown } | undefined)?.chargedAmount;
  return typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value) ? BigInt(value) : undefined;
}

/**
 * The batch offer's `extra` of a corrective 402 (`channelState` and `voucherState`): from the refusal's
 * `payment-required` header, the offer on the same escrow and network, else from the refusal's body.
 */
function correctiveExtra(
  answer: PaidAnswer,
  requirements: StacksPaymentRequirements,
): Readonly<Record<string, unknown>> | undefined {
  const matching = (accepts: unknown) =>
    Array.isArray(accepts)
      ? (accepts as StacksPaymentRequirements[]).find(
          (offer) =>
            offer?.scheme === requirements.scheme &&
            offer.network === requirements.network &&
            offer.extra?.escrow === requirements.extra?.escrow,
        )?.extra
      : undefined;
  const header = answer.header(PAYMENT_HEADERS.paymentRequired);
  if (typeof header === 'string' && header !== '') {
    try {
      const found = matching(decodePaymentRequiredHeader(header).accepts);
      if (found) return found;
    } catch {
      // A malformed header proves nothing; the body may still hold the challenge.
    }
  }
  let body = answer.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return matching((body as { accepts?: unknown } | undefined)?.accepts);
}
