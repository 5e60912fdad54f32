/**
 * The buyer's errors. Each carries a stable snake_case `reason` and a short message that names what was refused and
 * why; none ever holds a private key or a signed transaction.
 * @module
 */
import { X402StacksError, type X402StacksErrorOptions } from '../errors/base.js';
import { pickReasons } from '../protocol/reasons.js';
import { assetKey, type StacksAsset } from '../stacks/assets.js';
import { formatPrice, type StacksPaymentRequirements } from '../stacks/payment/terms.js';
import { formatAmount } from '../stacks/units.js';

/**
 * The reason codes of the buyer's errors, with their explanations. The payer also passes `insufficient_funds` and
 * `settlement_pending` through with their protocol meaning.
 *
 * @example
 * ```ts
 * import { CLIENT_REASON_CODES } from 'x402-stacks/client';
 * CLIENT_REASON_CODES.payment_over_budget; // 'Paying would take the total spent past the budget for this asset.'
 * ```
 */
export const CLIENT_REASON_CODES = pickReasons([
  'invalid_payment_required',
  'no_acceptable_requirement',
  'payment_over_max_amount',
  'payment_over_budget',
  'payment_over_window_budget',
  'budget_store_busy',
  'budget_store_corrupt',
  'budget_store_unavailable',
  'signer_refused',
  'signer_unavailable',
  'signer_signature_invalid',
  'pay_to_not_allowed',
  'asset_not_allowed',
  'payment_declined',
  'insufficient_funds',
  'payment_rejected',
  'settlement_pending',
  'payment_network_error',
  'invalid_payer_options',
  'request_body_not_replayable',
  'unsupported_payment_flow',
  'offer_unsigned',
  'offer_signature_invalid',
]);

/**
 * A reason code of the buyer's errors.
 * @example
 * ```ts
 * const reason: ClientReasonCode = 'payment_over_max_amount';
 * ```
 */
export type ClientReasonCode = keyof typeof CLIENT_REASON_CODES;

/**
 * Why the spending policy refused a payment.
 * @example
 * ```ts
 * const overBudget = (error: PaymentPolicyError) => error.reason === ('payment_over_budget' satisfies PolicyReason);
 * ```
 */
export type PolicyReason = Extract<
  ClientReasonCode,
  | 'payment_over_max_amount'
  | 'payment_over_budget'
  | 'payment_over_window_budget'
  | 'pay_to_not_allowed'
  | 'asset_not_allowed'
  | 'payment_declined'
>;

/** Options shared by the payment errors: the wrapper attaches the HTTP response it refused on, when there is one. */
type PaymentErrorOptions = X402StacksErrorOptions & { response?: unknown };

/**
 * Base class of the buyer's errors.
 * @example
 * ```ts
 * try {
 *   await api.get('/premium');
 * } catch (error) {
 *   if (error instanceof PaymentError) console.log(error.reason); // 'payment_over_budget'
 * }
 * ```
 */
export class PaymentError<
  Reason extends string = ClientReasonCode,
> extends X402StacksError<Reason> {
  override name = 'PaymentError';
  /**
   * The HTTP response the payment ended on (a fetch `Response` or an axios response), when there is one. Not
   * enumerable, so `JSON.stringify(error)` and loggers do not walk a whole response (an axios one is circular).
   */
  declare readonly response: unknown;

  constructor(reason: Reason, shortMessage: string, options: PaymentErrorOptions = {}) {
    const { response, ...base } = options;
    super(reason, shortMessage, base);
    Object.defineProperty(this, 'response', {
      value: response,
      enumerable: false,
      writable: false,
      configurable: true,
    });
  }
}

/**
 * A 402 whose challenge cannot be read: no valid `payment-required` header and no v1 body. Nothing was signed.
 * @example
 * ```ts
 * if (error instanceof InvalidPaymentRequiredError) console.log(error.metaMessages); // what failed in the header
 * ```
 */
export class InvalidPaymentRequiredError extends PaymentError<'invalid_payment_required'> {
  override name = 'InvalidPaymentRequiredError';
  constructor(why: string, options?: PaymentErrorOptions) {
    super('invalid_payment_required', `The 402 response cannot be paid: ${why}`, options);
  }
}

/**
 * One offered requirement and why it was passed over.
 * @example
 * ```ts
 * const refusal: RequirementRefusal = { requirement, reason: 'invalid_network', message: 'the offer is on mainnet' };
 * ```
 */
export type RequirementRefusal = {
  readonly requirement: StacksPaymentRequirements;
  readonly reason: string;
  readonly message: string;
};

/**
 * No offered requirement is payable by this account: another network, another scheme, an unknown asset, or payTo
 * is the payer itself. `refusals` says why for each one. Nothing was signed.
 * @example
 * ```ts
 * if (error instanceof NoAcceptableRequirementError) for (const r of error.refusals) console.log(r.reason);
 * ```
 */
export class NoAcceptableRequirementError extends PaymentError<'no_acceptable_requirement'> {
  override name = 'NoAcceptableRequirementError';
  readonly refusals: readonly RequirementRefusal[];
  constructor(refusals: readonly RequirementRefusal[], options?: PaymentErrorOptions) {
    super(
      'no_acceptable_requirement',
      refusals.length === 0
        ? 'The 402 offers no way to pay (accepts is empty).'
        : `None of the ${refusals.length} offered payment requirements can be paid by this account.`,
      { ...options, metaMessages: refusals.map(describeRefusal) },
    );
    this.refusals = refusals;
  }
}

/**
 * The buyer requires signed offers (`offerReceipt: { require: true }`) and no requirement it could pay came with a
 * seller's signed offer that verifies. The reason says which: none was sent (`offer_unsigned`), or the one sent does
 * not verify (`offer_signature_invalid`, the verifier's problem in the message). Nothing was signed.
 * @example
 * ```ts
 * if (error instanceof UntrustedOfferError) console.log(error.reason, error.refusals);
 * ```
 */
export class UntrustedOfferError extends PaymentError<
  'offer_unsigned' | 'offer_signature_invalid'
> {
  override name = 'UntrustedOfferError';
  /** Every offered requirement and why each was refused. */
  readonly refusals: readonly RequirementRefusal[];
  constructor(
    refusal: { reason: 'offer_unsigned' | 'offer_signature_invalid'; message: string },
    refusals: readonly RequirementRefusal[],
    options?: PaymentErrorOptions,
  ) {
    super(refusal.reason, `Payment refused: ${refusal.message}`, {
      ...options,
      metaMessages: refusals.length > 1 ? refusals.map(describeRefusal) : [],
    });
    this.refusals = refusals;
  }
}

/**
 * The spending policy refused to pay: the price is over the maximum per payment, the budget would be exceeded, the
 * payTo or asset is not allowed, or `onPaymentRequired` declined. The reason names the limit; nothing was signed.
 * @example
 * ```ts
 * if (error instanceof PaymentPolicyError && error.reason === 'payment_over_budget') console.log(error.limit);
 * ```
 */
export class PaymentPolicyError extends PaymentError<PolicyReason> {
  override name = 'PaymentPolicyError';
  /** The requirement that was refused. */
  readonly requirement: StacksPaymentRequirements;
  /** The limit that was hit, in the asset's atomic units, when the limit is an amount. */
  readonly limit: bigint | undefined;
  /** Every offered requirement and why each was refused. */
  readonly refusals: readonly RequirementRefusal[];
  constructor(
    reason: PolicyReason,
    message: string,
    details: {
      requirement: StacksPaymentRequirements;
      limit?: bigint;
      refusals?: readonly RequirementRefusal[];
    },
    options?: PaymentErrorOptions,
  ) {
    const refusals = details.refusals ?? [{ requirement: details.requirement, reason, message }];
    super(reason, `Payment refused: ${message}`, {
      ...options,
      metaMessages: refusals.length > 1 ? refusals.map(describeRefusal) : [],
    });
    this.requirement = details.requirement;
    this.limit = details.limit;
    this.refusals = refusals;
  }
}

/**
 * The account cannot cover the price plus the fee; checked on the chain after signing and before anything is sent.
 * The signed bytes were thrown away: nothing was sent.
 * @example
 * ```ts
 * if (error instanceof InsufficientBalanceError) console.log(error.asset, error.required, error.available);
 * ```
 */
export class InsufficientBalanceError extends PaymentError<'insufficient_funds'> {
  override name = 'InsufficientBalanceError';
  /** `'STX'` or `<contract id>::<asset name>`. */
  readonly asset: string;
  readonly required: bigint;
  readonly available: bigint;
  constructor(
    details: {
      /** The resolved asset; an asset key (the earlier form) shows the amounts as atomic units of it. */
      asset: StacksAsset | string;
      required: bigint;
      available: bigint;
      address: string;
    },
    options?: PaymentErrorOptions,
  ) {
    const { asset } = details;
    const shown = (amount: bigint) =>
      typeof asset === 'string'
        ? `${amount} atomic units of ${asset}`
        : formatAmount(amount, asset);
    super(
      'insufficient_funds',
      `Insufficient balance: ${details.address} holds ${shown(details.available)}, the payment needs ${shown(details.required)}.`,
      options,
    );
    this.asset = typeof asset === 'string' ? asset : assetKey(asset);
    this.required = details.required;
    this.available = details.available;
  }
}

/**
 * The server or its facilitator refused the signed payment and served nothing. `facilitatorReason` is the reason it
 * gave (from `payment-response`, or the v1 body), such as `invalid_exact_stacks_payload_nonce`.
 * @example
 * ```ts
 * if (error instanceof PaymentRejectedError) console.log(error.facilitatorReason, error.txid);
 * ```
 */
export class PaymentRejectedError extends PaymentError<'payment_rejected'> {
  override name = 'PaymentRejectedError';
  readonly facilitatorReason: string;
  /** The transaction id, when the refusal names one (a broadcast that failed on chain). */
  readonly txid: string | undefined;
  constructor(
    details: { facilitatorReason: string; message?: string; txid?: string },
    options?: PaymentErrorOptions,
  ) {
    const why = details.message ? `: ${details.message}` : '';
    super('payment_rejected', `Payment rejected (${details.facilitatorReason})${why}`, options);
    this.facilitatorReason = details.facilitatorReason;
    this.txid = details.txid || undefined;
  }
}

/**
 * The payment was broadcast but not confirmed before the server gave up waiting, so the resource was not served.
 * Look the transaction up by `txid` before paying again: it may still confirm.
 * @example
 * ```ts
 * if (error instanceof SettlementPendingError) console.log(getExplorerURL(error.txid, 'testnet'));
 * ```
 */
export class SettlementPendingError extends PaymentError<'settlement_pending'> {
  override name = 'SettlementPendingError';
  readonly txid: string;
  constructor(txid: string, options?: PaymentErrorOptions) {
    super(
      'settlement_pending',
      `Payment pending: transaction ${txid} was broadcast but not confirmed in time; the resource was not served.`,
      options,
    );
    this.txid = txid;
  }
}

/**
 * The chain API (nonce, balance, fee) or the server (the paid retry) could not be reached. At the `chain` stage
 * nothing was sent (a payment may have been signed, then thrown away). At the `retry` stage the signed payment
 * `txid` may have reached the server, so the budget keeps its amount: look it up before paying again. `sent` is
 * `false` only when the request provably never left (the connection was refused, the name did not resolve).
 * @example
 * ```ts
 * if (error instanceof PaymentNetworkError) console.log(error.stage, error.txid);
 * ```
 */
export class PaymentNetworkError extends PaymentError<'payment_network_error'> {
  override name = 'PaymentNetworkError';
  /** `chain`: reading nonce, balance or fee rate; `retry`: sending the paid request. */
  readonly stage: 'chain' | 'retry';
  readonly txid: string | undefined;
  /** `false`: the paid request provably never left the process. Otherwise unknown (it may have been sent). */
  readonly sent: false | undefined;
  constructor(
    stage: 'chain' | 'retry',
    details: { txid?: string; sent?: false },
    options?: PaymentErrorOptions,
  ) {
    super(
      'payment_network_error',
      stage === 'chain'
        ? 'Network failure: the Stacks API could not be reached while preparing the payment; nothing was sent.'
        : details.sent === false
          ? `Network failure: the paid request could not be sent; transaction ${details.txid} never left this process.`
          : `Network failure: the paid request did not get an answer; transaction ${details.txid} may have been sent.`,
      options,
    );
    this.stage = stage;
    this.txid = details.txid;
    this.sent = details.sent;
  }
}

/**
 * The request cannot be paid because its body cannot be sent twice: a stream (Node `Readable` or a web
 * `ReadableStream`) given to axios is consumed by the unpaid request. Thrown before anything is signed. Send a
 * `Buffer`, a string or an object instead, or use `wrapFetchWithPayment` (whose `Request.clone()` buffers streams).
 * @example
 * ```ts
 * import { UnreplayableRequestError } from 'x402-stacks';
 * if (error instanceof UnreplayableRequestError) console.log(error.message); // reason 'request_body_not_replayable'
 * ```
 */
export class UnreplayableRequestError extends PaymentError {
  override name = 'UnreplayableRequestError';
  constructor(why: string, options?: PaymentErrorOptions) {
    super(
      'request_body_not_replayable',
      `The 402 cannot be paid: ${why}; nothing was signed.`,
      options,
    );
  }
}

/**
 * Options given to the payer or a wrapper that cannot be used (an amount that is not atomic units, an unknown asset,
 * a fee cap below the floor). Thrown once, when the wrapper is created.
 * @example
 * ```ts
 * wrapFetchWithPayment(fetch, account, { maxAmount: { STX: '1.5' } }); // throws PayerOptionsError
 * ```
 */
export class PayerOptionsError extends PaymentError<'invalid_payer_options'> {
  override name = 'PayerOptionsError';
  constructor(why: string, options?: X402StacksErrorOptions) {
    super('invalid_payer_options', `Invalid payment options: ${why}`, options);
  }
}

/**
 * The budget store could not be used: locked too long by another process, unreadable, or not available in this
 * runtime. Nothing was signed; a payment is never made without its budget record.
 * @example
 * ```ts
 * if (error instanceof BudgetStoreError && error.reason === 'budget_store_busy') await retryLater();
 * ```
 */
export class BudgetStoreError extends PaymentError<
  'budget_store_busy' | 'budget_store_corrupt' | 'budget_store_unavailable'
> {
  override name = 'BudgetStoreError';
}

function describeRefusal(refusal: RequirementRefusal): string {
  const { requirement } = refusal;
  return `${formatPrice(requirement)} on ${requirement.network} to ${requirement.payTo}: ${refusal.reason} (${refusal.message})`;
}
