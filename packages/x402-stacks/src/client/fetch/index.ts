/**
 * `x402-stacks/fetch`: `wrapFetchWithPayment`, a `fetch` that pays 402 responses on Stacks and retries once.
 * @module
 */
import type { StacksAccount } from '../../stacks/accounts.js';
import { MAX_CHALLENGE_BODY_BYTES, readTextUpTo } from '../body.js';
import { readPaymentChallenge } from '../challenge.js';
import { createPayer, PAYMENT_REQUEST_HEADERS, type PaymentOptions } from '../payer.js';

/**
 * Wraps `fetch` so that a 402 is paid from `account` and the request retried once with the payment.
 *
 * 1. A request that already carries `payment-signature` or `X-PAYMENT` is sent as is and never paid.
 * 2. Any answer but 402 is returned untouched.
 * 3. On a 402 the challenge is read (the `payment-required` header, or a v1 body), a requirement chosen within the
 *    spending policy, the balance checked and the payment signed; nothing is broadcast by the buyer.
 * 4. The request is sent again with the payment, exactly once. A served answer is returned (its `payment-response`
 *    header holds the receipt); a 402 throws {@link PaymentRejectedError} or {@link SettlementPendingError}.
 *
 * The request body is buffered by `Request.clone()` for the retry, so streams work but are held in memory.
 *
 * @param options spending policy, fees, chain source and hooks: see {@link PaymentOptions}.
 * @throws {PayerOptionsError} at once, for options that cannot be used.
 * @example
 * ```ts
 * import { privateKeyToAccount, decodePaymentResponse } from 'x402-stacks';
 * import { wrapFetchWithPayment } from 'x402-stacks/fetch';
 *
 * const account = privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY!, 'testnet');
 * const fetchWithPayment = wrapFetchWithPayment(fetch, account, { maxAmount: { STX: 10_000n } });
 * const response = await fetchWithPayment('http://localhost:3003/api/premium-data');
 * console.log(decodePaymentResponse(response.headers.get('payment-response'))?.transaction);
 * ```
 */
export function wrapFetchWithPayment(
  fetchFn: typeof globalThis.fetch,
  account: StacksAccount,
  options: PaymentOptions = {},
): typeof globalThis.fetch {
  const payer = createPayer(account, options);
  return async function fetchWithPayment(input, init) {
    const request = new Request(input, init);
    if (PAYMENT_REQUEST_HEADERS.some((name) => request.headers.has(name))) return fetchFn(request);
    const challenged = await fetchFn(request.clone());
    if (challenged.status !== 402) return challenged;

    const header = challenged.headers.get('payment-required');
    // The body matters only to a v1 server, which has no header; read it only then.
    const body = header ? undefined : await readTextUpTo(challenged, MAX_CHALLENGE_BODY_BYTES);
    // An unread body would hold its connection until garbage collection.
    if (header) await challenged.body?.cancel().catch(() => undefined);
    const prepared = await payer.preparePayment(readPaymentChallenge({ header, body }), {
      url: request.url,
    });
    const headers = new Headers(request.headers);
    headers.set(prepared.header.name, prepared.header.value);
    let paid: Response;
    try {
      paid = await fetchFn(new Request(request, { headers }));
    } catch (cause) {
      throw prepared.fail(cause);
    }
    const refusal =
      paid.status === 402 ? await readTextUpTo(paid.clone(), MAX_CHALLENGE_BODY_BYTES) : undefined;
    await prepared.complete(
      { status: paid.status, header: (name) => paid.headers.get(name), body: refusal },
      paid,
    );
    return paid;
  };
}

export type { PaymentOptions, PaymentRequiredContext } from '../payer.js';
export type { PaymentReceipt } from '../prepared.js';
