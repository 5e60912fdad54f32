/**
 * `x402-stacks/fetch`: `wrapFetchWithPayment`, a `fetch` that pays 402 responses on Stacks and retries once.
 * @module
 */

import { SIGN_IN_WITH_X } from '../../extensions/sign-in-with-x/schema.js';
import type { StacksAccount } from '../../stacks/accounts.js';
import type { Signer } from '../../stacks/signer.js';
import { MAX_CHALLENGE_BODY_BYTES, readTextUpTo } from '../body.js';
import { type PaymentChallenge, readPaymentChallenge } from '../challenge.js';
import { CREDENTIAL_HEADERS, isSameOrigin } from '../credentials.js';
import { PaymentRejectedError } from '../errors.js';
import { rememberPaymentReceipt } from '../paid-responses.js';
import { createPayer, PAYMENT_REQUEST_HEADERS, type Payer, type PaymentOptions } from '../payer.js';
import { redactPaymentHeaders } from '../redact.js';
import { provablyNotSent } from '../sent.js';

/**
 * Wraps `fetch` so that a 402 is paid from `account` and the request retried once with the payment.
 *
 * 1. A request that already carries `payment-signature` or `X-PAYMENT` is sent as is and never paid.
 * 2. Any answer but 402 is returned untouched.
 * 3. On a 402 the challenge is read (the `payment-required` header, or a v1 body), a requirement chosen within the
 *    spending policy, the balance checked and the payment signed; nothing is broadcast by the buyer.
 *    The payment is for the URL that answered 402 (`response.url`, after any redirects of the unpaid request): that
 *    is the URL `onPaymentRequired` is shown, and the one the paid request goes to.
 * 4. The request is sent again with the payment, with `redirect: 'manual'`: the payment header never follows a
 *    redirect, and a 3xx answer is returned as is. A served answer is returned (its `payment-response` header holds
 *    the receipt, and `getPaymentReceipt(response)` the payment with any verified signed offer and receipt); a 402
 *    throws {@link PaymentRejectedError} or {@link SettlementPendingError}. When the paid request's response is lost
 *    and the payment carries a `payment-identifier` id, the same payment is sent again (`lostResponseRetries`,
 *    default once): the server's facilitator answers it with the outcome it stored.
 * 5. With the `batch` option, a batch-settlement offer is paid from a channel; a refusal for a stale charged total
 *    whose corrective 402 checks out resynchronises the channel, and the request is paid once more. After a channel
 *    payment is served, the next request to the same method and URL within a minute carries its voucher at once
 *    (`batch.payAhead`, default on); a 402 to it is read as the challenge and paid as in step 3.
 *
 * The request body is buffered by `Request.clone()` for the retry, so streams work but are held in memory. After a
 * redirect the paid request keeps the original method and body.
 *
 * @param account the paying account, or a {@link Payer} (`createPayer`) to share one budget and nonce queue between
 *   several wrappers; `options` are then the payer's own and this argument's are not used.
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
  account: StacksAccount | Signer | Payer,
  options: PaymentOptions = {},
): typeof globalThis.fetch {
  const payer = 'preparePayment' in account ? account : createPayer(account, options);
  return async function fetchWithPayment(input, init) {
    const request = new Request(input, init);
    if (PAYMENT_REQUEST_HEADERS.some((name) => request.headers.has(name))) return fetchFn(request);
    const { method } = request;
    // A resource paid over a channel a moment ago is paid with the first request; a 402 to that is paid as usual.
    let challenge = payer.challengeAhead?.({ url: request.url, method });
    let ahead = challenge !== undefined;
    let url = request.url;
    if (challenge === undefined) {
      const challenged = await fetchFn(request.clone());
      if (challenged.status !== 402) return challenged;
      challenge = await challengeOf(challenged);
      // The URL that asked to be paid, after any redirects; a synthetic response has none.
      url = challenged.url || request.url;
    }
    // Read before signing: a body that cannot be buffered must not leave a signed payment behind.
    const retryBody =
      url === request.url || request.body === null ? undefined : await request.arrayBuffer();
    // The request again, to the URL that answered 402, with one more header; `redirect: 'manual'` so that neither a
    // proof nor a payment follows a redirect. The last retry may consume the original request's body.
    const again = (name: string, value: string, last: boolean) => {
      const headers = new Headers(request.headers);
      // fetch dropped the credentials on a redirect to another origin; the retry there must not restore them.
      if (!isSameOrigin(url, request.url)) {
        for (const credential of CREDENTIAL_HEADERS) headers.delete(credential);
      }
      headers.set(name, value);
      if (url === request.url) {
        // A request without a body is never consumed: no copy is needed to send it again.
        const source = last || request.body === null ? request : request.clone();
        return new Request(source, { headers, redirect: 'manual' });
      }
      return new Request(url, {
        method: request.method,
        headers,
        ...(retryBody === undefined ? {} : { body: retryBody.slice(0) }),
        redirect: 'manual',
        signal: request.signal,
        credentials: request.credentials,
        referrerPolicy: request.referrerPolicy,
        integrity: request.integrity,
        keepalive: request.keepalive,
      });
    };

    // Sign in first when the buyer opted in and the seller offers it: a payer it remembers is served unpaid. Any
    // answer but 402 is the seller's; a 402 is a fresh challenge, paid below.
    if (!ahead && !request.headers.has(SIGN_IN_WITH_X)) {
      const signIn = await payer.signIn(challenge, { url });
      if (signIn) {
        const challenged = await fetchFn(again(signIn.name, signIn.value, false));
        if (challenged.status !== 402) return challenged;
        challenge = await challengeOf(challenged);
      }
    }

    // A batch-settlement payment refused for a stale charged total is paid once more, from the corrected channel.
    for (let round = 0; ; round++) {
      const prepared = await payer.preparePayment(challenge, { url, method });
      // Only a payment that may be paid again keeps the original request (and its body) for another round: one that
      // may resynchronise, or one sent ahead, whose 402 is then paid.
      const mayResync = round === 0 && prepared.resynchronised !== undefined;
      let retry: Request;
      try {
        retry = again(prepared.header.name, prepared.header.value, !(mayResync || ahead));
      } catch (cause) {
        // The paid request could not even be built: the payment never left.
        throw prepared.fail(cause, { sent: false });
      }
      // An aborted signal makes fetch reject before it sends anything.
      if (retry.signal.aborted) throw prepared.fail(retry.signal.reason, { sent: false });
      let paid: Response | undefined;
      // Whether any send may have reached the server: then the budget keeps the amount whatever happens next.
      let maybeSent = false;
      for (let attempt = 0; paid === undefined; attempt++) {
        const mayResend = attempt < prepared.lostResponseRetries;
        try {
          // A body is read once: a send that may be repeated takes a copy.
          paid = await fetchFn(mayResend && retry.body !== null ? retry.clone() : retry);
        } catch (cause) {
          // A fetch built over another client (axios' adapter, a test double) may keep the request in its error.
          redactPaymentHeaders(cause);
          maybeSent ||= !provablyNotSent(cause);
          // The response was lost: the same payment under the same id again, unless the caller gave up (its signal).
          if (mayResend && !retry.signal.aborted) continue;
          throw prepared.fail(cause, maybeSent ? undefined : { sent: false });
        }
      }
      const answered = paid;
      const refusal =
        answered.status === 402
          ? await readTextUpTo(answered.clone(), MAX_CHALLENGE_BODY_BYTES)
          : undefined;
      let receipt: Awaited<ReturnType<typeof prepared.complete>>;
      try {
        receipt = await prepared.complete(
          { status: answered.status, header: (name) => answered.headers.get(name), body: refusal },
          answered,
        );
      } catch (error) {
        if (ahead && error instanceof PaymentRejectedError) {
          // The 402 to a payment sent ahead is the challenge to pay, as if the request had gone unpaid first.
          ahead = false;
          const fresh = await challengeOf(answered).catch(() => undefined);
          if (fresh === undefined) throw error;
          challenge = fresh;
          // A refusal that already resynchronised the channel was this request's one resync: a seller answering
          // every voucher with a "corrective" 402 gets no more ceilings from a request paid ahead than from one
          // that asked first.
          round = prepared.resynchronised?.() ? 0 : -1;
          continue;
        }
        if (mayResync && prepared.resynchronised?.()) {
          await answered.body?.cancel().catch(() => undefined);
          continue;
        }
        throw error;
      }
      if (receipt) rememberPaymentReceipt(answered, receipt);
      return answered;
    }
  };
}

/** Reads a 402's challenge: the `payment-required` header, or the body of a v1 server. */
async function challengeOf(challenged: Response): Promise<PaymentChallenge> {
  const header = challenged.headers.get('payment-required');
  // The body matters only to a v1 server, which has no header; read it only then.
  const body = header ? undefined : await readTextUpTo(challenged, MAX_CHALLENGE_BODY_BYTES);
  // An unread body would hold its connection until garbage collection.
  if (header) await challenged.body?.cancel().catch(() => undefined);
  return readPaymentChallenge({ header, body });
}

export { getPaymentReceipt } from '../paid-responses.js';
export type { PaymentOptions, PaymentRequiredContext } from '../payer.js';
export type { PaymentReceipt } from '../prepared.js';
