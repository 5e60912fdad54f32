/**
 * The names of the x402 payment headers, apart from their codecs, so the errors that name a header need not import
 * the codecs that throw them.
 * @module
 */

/**
 * The payment header names, lower-case (HTTP header names are case-insensitive, and Node
 * lower-cases them). v2 uses the first three; v1 uses `x-payment` and `x-payment-response`.
 *
 * @example
 * ```ts
 * response.setHeader(PAYMENT_HEADERS.paymentRequired, encodePaymentRequiredHeader(challenge));
 * ```
 */
export const PAYMENT_HEADERS = {
  paymentRequired: 'payment-required',
  paymentSignature: 'payment-signature',
  paymentResponse: 'payment-response',
  xPayment: 'x-payment',
  xPaymentResponse: 'x-payment-response',
} as const;

/**
 * One of the payment header names.
 * @example
 * ```ts
 * const name: PaymentHeaderName = 'payment-signature';
 * ```
 */
export type PaymentHeaderName = (typeof PAYMENT_HEADERS)[keyof typeof PAYMENT_HEADERS];
