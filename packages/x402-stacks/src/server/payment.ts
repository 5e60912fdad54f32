/**
 * What a handler learns of the payment behind its request, on its own so the options (which hand it to callbacks) and
 * the resource server (which builds it) both import it without importing each other.
 * @module
 */
import type { SignedReceipt } from '../extensions/offer-receipt/schema.js';
import type { PaymentRequirements } from '../protocol/v2.js';
import type { StacksNetworkId } from '../stacks/networks.js';

/**
 * The payment behind a paid request, as `getPayment` gives it to the handler.
 *
 * @example
 * ```ts
 * const payment = getPayment(req);
 * console.log(payment?.transaction, payment?.payer, payment?.amount, payment?.asset);
 * ```
 */
export type Payment = {
  /** The txid on chain. Before settlement (`after-handler`), the txid of the transaction as the buyer signed it. */
  readonly transaction: string;
  /** The buyer's Stacks address. */
  readonly payer: string;
  /** CAIP-2. */
  readonly network: StacksNetworkId;
  /** Atomic units, as a decimal string. */
  readonly amount: string;
  /** The asset as offered: `'STX'`, or the token's contract id (an `'sBTC'` price is offered by its id). */
  readonly asset: string;
  /** `true` once the facilitator confirmed the settlement; `false` while an `after-handler` handler runs. */
  readonly settled: boolean;
  /** The `accepts[]` entry that was paid. */
  readonly requirements: PaymentRequirements;
  /** The buyer's protocol version: 2 for `payment-signature`, 1 for `X-PAYMENT`. */
  readonly x402Version: 1 | 2;
  /**
   * Set when the request was served on a `sign-in-with-x` proof instead of a payment: the signer, and when the earlier
   * payment described by the other fields (which grants this access) settled, in ms since the epoch.
   */
  readonly signInWithX?: { readonly address: string; readonly paidAt: number };
  /**
   * The receipt signed for this payment (the `offer-receipt` extension), when the route signs them: also sent to the
   * buyer in `payment-response`. Absent before settlement (`after-handler`) and when the signer failed.
   */
  readonly signedReceipt?: SignedReceipt;
  /**
   * batch-settlement only, while the handler runs: charge this request less than the price (atomic units, at most
   * `amount`). Uncalled, the request is charged the price. Absent for `exact`, which pays the price on chain.
   */
  readonly charge?: (amount: bigint | string | number) => void;
  /** @deprecated The v1 name of {@link Payment.transaction}. */
  readonly txId: string;
};
