/**
 * Errors thrown by the protocol codecs.
 * @module
 */
import { X402StacksError, type X402StacksErrorOptions } from '../errors/base.js';
import type { PaymentHeaderName } from './header-names.js';
import { REASON_CODES } from './reasons.js';

/**
 * Why a payment header could not be decoded (or encoded), in the order the checks run.
 * @example
 * ```ts
 * const reason: InvalidHeaderReason = 'invalid_header_schema';
 * ```
 */
export type InvalidHeaderReason =
  | 'header_too_large'
  | 'invalid_header_encoding'
  | 'invalid_header_json'
  | 'invalid_header_schema';

/**
 * A payment header that is too large, not standard base64, not UTF-8 JSON, or not the protocol
 * shape. The message names the header and lists what failed; it never repeats the header value,
 * which can carry a signed payment.
 *
 * @example
 * ```ts
 * try {
 *   decodePaymentSignatureHeader(request.headers['payment-signature']);
 * } catch (error) {
 *   if (error instanceof InvalidHeaderError) console.log(error.header, error.reason);
 * }
 * ```
 */
export class InvalidHeaderError extends X402StacksError<InvalidHeaderReason> {
  override name = 'InvalidHeaderError';
  /** The lower-case name of the header that failed, such as `'payment-signature'`. */
  readonly header: PaymentHeaderName;

  constructor(
    header: PaymentHeaderName,
    reason: InvalidHeaderReason,
    options?: X402StacksErrorOptions,
  ) {
    super(reason, `Invalid ${header} header: ${REASON_CODES[reason]}`, options);
    this.header = header;
  }
}
