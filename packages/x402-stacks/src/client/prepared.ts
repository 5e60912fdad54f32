/**
 * A signed payment waiting for the server's answer: it holds the account's turn and the budget reservation, and
 * settles both by what the answer says. Served or pending, the nonce is spent. Refused, or no answer, the next nonce
 * is read from the chain again.
 *
 * Once the signed payment has been sent, the budget keeps its amount whatever the answer: the server holds a
 * transaction it can broadcast itself, so a refusal proves nothing about the money. The next payment reuses the nonce
 * if the chain shows it unspent, so the held transaction and the next one are mutually exclusive: at most one lands,
 * and the amount counted stays an upper bound on what was spent. The reservation is given back only when the payment
 * provably never left the process.
 * @module
 */
import type { SignedOffer, SignedReceipt } from '../extensions/offer-receipt/schema.js';
import type { SettleResponseV1 } from '../protocol/v1.js';
import type { SettleResponse } from '../protocol/v2.js';
import type { StacksNetworkId } from '../stacks/networks.js';
import type { PaymentTransaction } from '../stacks/payment/create.js';
import type { StacksPaymentRequirements } from '../stacks/payment/terms.js';
import type { BudgetReservation } from './budget.js';
import { PaymentNetworkError, PaymentRejectedError, SettlementPendingError } from './errors.js';
import type { NonceLease } from './nonces.js';
import { type OfferExpectations, verifiedReceipt } from './offer-receipt.js';
import { type PaidAnswer, readPaymentOutcome } from './outcome.js';

/**
 * What a settled payment reports, to `onPaymentSettled` and to the wrappers.
 * @example
 * ```ts
 * const onPaymentSettled = (receipt: PaymentReceipt) => console.log(receipt.txid, receipt.amount);
 * ```
 */
export type PaymentReceipt = {
  readonly url: string;
  readonly requirements: StacksPaymentRequirements;
  readonly amount: bigint;
  readonly asset: string;
  readonly payer: string;
  readonly network: StacksNetworkId;
  /** The txid of the signed bytes; a sponsored payment gets another id once sponsored (see `settlement`). */
  readonly signedTxid: string;
  /** The on-chain txid from the server's receipt, else `signedTxid`. */
  readonly txid: string;
  /** The transaction's nonce; undefined for a batch-settlement voucher, which puts nothing on chain. */
  readonly nonce: bigint | undefined;
  /** Micro-STX paid by the buyer; 0 when sponsored. */
  readonly fee: bigint;
  /** The server's receipt (`payment-response`, or `x-payment-response` from a v1 server), when it sent one. */
  readonly settlement: SettleResponse | SettleResponseV1 | undefined;
  /**
   * The seller's signed offer for what was paid (the `offer-receipt` extension), when it sent one that verifies: proof
   * of the terms it offered. Keep it with {@link PaymentReceipt.signedReceipt}; `verifyOffer` checks it again offline.
   */
  readonly signedOffer?: SignedOffer;
  /**
   * The seller's signed receipt of this payment, when it sent one that verifies (its signer, this payer, and the
   * offer's resource, network, asset, payTo and amount): proof of what was paid. `verifyReceipt` checks it offline.
   */
  readonly signedReceipt?: SignedReceipt;
  /**
   * A batch-settlement payment: which channel, the ceiling signed, what the seller side charged (its answer's
   * `chargedAmount`, when well formed) and the deposit the request carried. `txid` is then the deposit's, or `''`
   * for a voucher.
   */
  readonly batch?: {
    readonly type: 'deposit' | 'voucher';
    readonly channelId: string;
    readonly maxClaimableAmount: bigint;
    readonly chargedAmount?: bigint;
    readonly deposit?: bigint;
  };
};

/**
 * A signed payment ready for the retry, and the way to read its answer. Exactly one of `complete` or `fail` must be
 * called; until then the account's next payment waits.
 * @example
 * ```ts
 * const prepared = await payer.preparePayment(challenge, { url });
 * headers.set(prepared.header.name, prepared.header.value);
 * ```
 */
export type PreparedPayment = {
  /** The header of the paid retry: `payment-signature` (v2) or `X-PAYMENT` (v1 server). */
  readonly header: { readonly name: 'payment-signature' | 'X-PAYMENT'; readonly value: string };
  readonly requirements: StacksPaymentRequirements;
  /** The signed transaction's id; `''` for a batch-settlement voucher. */
  readonly txid: string;
  /** Its nonce; undefined for a batch-settlement voucher. */
  readonly nonce: bigint | undefined;
  /** The `payment-identifier` id the header carries, when the 402 declared the extension. */
  readonly paymentId: string | undefined;
  /**
   * How many more times the wrappers may send this same header when the paid request's response is lost: the
   * `lostResponseRetries` option when the header carries an id (the facilitator then answers a resend with the stored
   * outcome), else 0 (a resend would only hear `duplicate_settlement`).
   */
  readonly lostResponseRetries: number;
  /**
   * Reads the server's answer. Resolves with the receipt when the resource was served, `undefined` when an error
   * status leaves the outcome unknown.
   * @throws {SettlementPendingError} broadcast but not confirmed in time.
   * @throws {PaymentRejectedError} refused; nothing served. The budget keeps the amount: the server holds the payment.
   */
  complete(answer: PaidAnswer, response?: unknown): Promise<PaymentReceipt | undefined>;
  /**
   * The paid retry got no answer. Returns the error to throw. The payment may have been sent, so the budget keeps
   * the amount, unless `sent: false` says the request provably never left the process (for example the connection
   * was refused): only then is the reservation given back.
   */
  fail(cause: unknown, proof?: { readonly sent: false }): PaymentNetworkError;
  /**
   * After `complete` threw for a batch-settlement refusal: `true` when the refusal was a stale charged total and the
   * buyer's channel was corrected from the corrective 402, so paying the same challenge once more may succeed. The
   * wrappers do that once.
   */
  resynchronised?(): boolean;
};

/** Everything a prepared payment needs to read its answer. */
export type PreparedPaymentParts = {
  readonly version: 1 | 2;
  readonly url: string;
  readonly header: PreparedPayment['header'];
  readonly paymentId?: string | undefined;
  readonly lostResponseRetries?: number;
  readonly requirements: StacksPaymentRequirements;
  readonly amount: bigint;
  readonly asset: string;
  readonly network: StacksNetworkId;
  readonly payment: PaymentTransaction;
  readonly lease: NonceLease;
  readonly reservation: BudgetReservation;
  readonly onPaymentSettled: ((receipt: PaymentReceipt) => unknown) | undefined;
  /** The verified signed offer of the paid requirement, and what its receipt must match. */
  readonly offerReceipt?: {
    readonly offer: SignedOffer | undefined;
    readonly expected: OfferExpectations;
    /** The 402's `resource.url`: what a receipt names when no signed offer does. */
    readonly resourceUrl?: string | undefined;
  };
};

/**
 * Wraps a signed payment with the bookkeeping of its outcome.
 * @example
 * ```ts
 * const prepared = createPreparedPayment({ version: 2, url, header, requirements, amount, asset, network,
 *   payment, lease, reservation, onPaymentSettled: undefined });
 * ```
 */
export function createPreparedPayment(parts: PreparedPaymentParts): PreparedPayment {
  const { payment, lease, reservation } = parts;
  // The payment goes out now; once the chain has it, the account's next payment need not wait for the answer.
  lease.watch();
  const receiptOf = (
    settlement: PaymentReceipt['settlement'],
    settledTxid: string | undefined,
  ): PaymentReceipt => {
    const { offerReceipt } = parts;
    const signedReceipt = offerReceipt
      ? verifiedReceipt(
          (settlement as { extensions?: Record<string, unknown> } | undefined)?.extensions,
          {
            offer: offerReceipt.offer,
            payer: payment.payer,
            network: parts.network,
            expected: offerReceipt.expected,
            transaction: settledTxid ?? payment.txid,
            requirements: parts.requirements,
            resourceUrl: offerReceipt.resourceUrl,
          },
        )
      : undefined;
    return {
      url: parts.url,
      requirements: parts.requirements,
      amount: parts.amount,
      asset: parts.asset,
      payer: payment.payer,
      network: parts.network,
      signedTxid: payment.txid,
      txid: settledTxid ?? payment.txid,
      nonce: payment.nonce,
      fee: payment.fee,
      settlement,
      ...(offerReceipt?.offer ? { signedOffer: offerReceipt.offer } : {}),
      ...(signedReceipt ? { signedReceipt } : {}),
    };
  };

  return {
    header: parts.header,
    requirements: parts.requirements,
    txid: payment.txid,
    nonce: payment.nonce,
    paymentId: parts.paymentId,
    lostResponseRetries: parts.lostResponseRetries ?? 0,

    async complete(answer, response) {
      const outcome = readPaymentOutcome(parts.version, answer);
      // Whatever the server answered, it received the signed payment: counted for good.
      await reservation.consume();
      switch (outcome.kind) {
        case 'served': {
          lease.used();
          const receipt = receiptOf(outcome.settlement, outcome.txid);
          try {
            await parts.onPaymentSettled?.(receipt);
          } catch {
            // A logging hook must not turn a paid, served response into a failure.
          }
          return receipt;
        }
        case 'pending':
          // Broadcast: the nonce is spent and the money may still move, so the budget keeps it.
          lease.pending();
          throw new SettlementPendingError(outcome.txid, { response });
        case 'rejected':
          // Refused, but the server holds the signed payment and may broadcast it: the budget keeps the amount. The
          // nonce may be free again, so the chain decides the next one (which then excludes the held transaction).
          lease.resync();
          throw new PaymentRejectedError(
            {
              facilitatorReason: outcome.reason,
              ...(outcome.message ? { message: outcome.message } : {}),
              ...(outcome.txid ? { txid: outcome.txid } : {}),
            },
            { response },
          );
        case 'unknown':
          // An error status without a receipt: it may have settled, so the budget keeps the amount.
          lease.resync();
          return undefined;
      }
    },

    fail(cause, proof) {
      // The payment may have reached the server: the budget keeps it, and the chain tells the next nonce.
      lease.resync();
      // Recorded without waiting: until the record lands, a reservation is counted as spent anyway.
      if (proof?.sent === false) void reservation.release();
      else void reservation.consume();
      return new PaymentNetworkError(
        'retry',
        { txid: payment.txid, ...(proof?.sent === false ? { sent: false } : {}) },
        { cause },
      );
    },
  };
}
