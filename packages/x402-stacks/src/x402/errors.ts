/**
 * The error of the `@x402/core` adapter. Its reasons are codes the library already has, so callers that branch on
 * `reason` need nothing new.
 * @module
 */
import { X402StacksError, type X402StacksErrorOptions } from '../errors/base.js';
import { pickReasons } from '../protocol/reasons.js';

/**
 * Reason codes of {@link ExactStacksSchemeError}.
 * @example
 * ```ts
 * EXACT_STACKS_SCHEME_REASON_CODES.invalid_price; // 'The route’s pricing function returned a price …'
 * ```
 */
export const EXACT_STACKS_SCHEME_REASON_CODES = pickReasons([
  'invalid_price',
  'invalid_x402_version',
  'invalid_payment_requirements',
  'payment_over_max_amount',
  'invalid_payer_options',
  'invalid_server_config',
]);

/**
 * A reason of {@link ExactStacksSchemeError}.
 * @example
 * ```ts
 * const reason: ExactStacksSchemeReason = 'payment_over_max_amount';
 * if (error instanceof ExactStacksSchemeError && error.reason === reason) console.warn(error.message);
 * ```
 */
export type ExactStacksSchemeReason = keyof typeof EXACT_STACKS_SCHEME_REASON_CODES;

/**
 * Thrown by `ExactStacksScheme` and `registerExactStacksScheme`: a price that cannot be paid, a role the scheme was
 * not configured for, a payment over the client's cap. Messages never contain keys.
 * @example
 * ```ts
 * try { await scheme.parsePrice('$0.01', 'stacks:1'); }
 * catch (error) { if (error instanceof ExactStacksSchemeError) console.log(error.reason); }
 * ```
 */
export class ExactStacksSchemeError extends X402StacksError<ExactStacksSchemeReason> {
  override name = 'ExactStacksSchemeError';
  constructor(
    reason: ExactStacksSchemeReason,
    shortMessage: string,
    options?: X402StacksErrorOptions,
  ) {
    super(reason, shortMessage, options);
  }
}
