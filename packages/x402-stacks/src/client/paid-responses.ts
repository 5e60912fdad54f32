/**
 * The payment behind a response the wrappers returned: the same {@link PaymentReceipt} `onPaymentSettled` gets (with
 * the verified signed offer and receipt), looked up by the response object itself, so the wrappers' return types
 * stay the HTTP library's own.
 * @module
 */
import type { PaymentReceipt } from './prepared.js';

const receipts = new WeakMap<object, PaymentReceipt>();

/** Remembers the receipt of a served, paid response. */
export function rememberPaymentReceipt(response: object, receipt: PaymentReceipt): void {
  receipts.set(response, receipt);
}

/**
 * The payment behind a response from `wrapFetchWithPayment` or `wrapAxiosWithPayment`: `undefined` when the request
 * was not paid (no 402) or its outcome is unknown.
 * @example
 * ```ts
 * import { getPaymentReceipt } from 'x402-stacks/fetch';
 * const response = await fetchWithPayment(url);
 * const paid = getPaymentReceipt(response);
 * console.log(paid?.txid, paid?.signedOffer, paid?.signedReceipt);
 * ```
 */
export function getPaymentReceipt(response: unknown): PaymentReceipt | undefined {
  return typeof response === 'object' && response !== null ? receipts.get(response) : undefined;
}
