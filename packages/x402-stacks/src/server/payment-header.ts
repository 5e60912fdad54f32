/**
 * Reading the buyer's payment from the request: `payment-signature` (v2) or `X-PAYMENT` (v1), decoded and checked
 * against the protocol schemas. `X-PAYMENT` may also hold a raw signed transaction in hex, as x402-stacks 1.x clients
 * (2.0's `withPaymentInterceptor`) send it. A header that is present but malformed throws `InvalidHeaderError`.
 * @module
 */
import {
  decodePaymentSignatureHeader,
  decodeXPaymentHeader,
  MAX_PAYMENT_HEADER_LENGTH,
  PAYMENT_HEADERS,
} from '../protocol/headers.js';
import type { PaymentPayloadV1 } from '../protocol/v1.js';
import type { PaymentPayload } from '../protocol/v2.js';
import { isRawTransactionHex } from '../protocol/x402-stacks-1x.js';

/** The payment a request carries, by protocol version. */
export type RequestPayment =
  | { readonly version: 2; readonly payload: PaymentPayload }
  | { readonly version: 1; readonly payload: PaymentPayloadV1 }
  /**
   * x402-stacks 1.x: only the transaction, which alone decides the entry it pays. Its `X-PAYMENT-TOKEN-TYPE` header
   * is not read: a buyer's header never picks the asset or the price.
   */
  | { readonly version: 1; readonly transaction: string };

/**
 * The request's payment, or `undefined` when it carries none. `payment-signature` wins when both headers are sent.
 * @throws {InvalidHeaderError} for a header that is too large, not base64, not JSON or not the schema.
 */
export function readPayment(
  header: (name: string) => string | undefined,
): RequestPayment | undefined {
  const v2 = header(PAYMENT_HEADERS.paymentSignature);
  if (v2 !== undefined && v2 !== '')
    return { version: 2, payload: decodePaymentSignatureHeader(v2) };
  const v1 = header(PAYMENT_HEADERS.xPayment);
  if (v1 === undefined || v1 === '') return undefined;
  // Past the length limit the decoder below refuses it as header_too_large.
  if (v1.length <= MAX_PAYMENT_HEADER_LENGTH && isRawTransactionHex(v1))
    return { version: 1, transaction: v1.replace(/^0x/, '') };
  return { version: 1, payload: decodeXPaymentHeader(v1) };
}
