/**
 * The `fetch` that `x402-stacks pay` hands to the library's `wrapFetchWithPayment`. The wrapper does the paying (one
 * paid retry, `redirect: 'manual'`, the receipt); this adds the command's own rules about where requests may go:
 *
 * - The unpaid request follows redirects only within the origin of the URL typed. A redirect to another origin is
 *   refused (`cross_origin_redirect`): the user asked to pay one site, and a 402 from wherever it points is an offer
 *   nobody chose. Same-origin redirects (a trailing slash, a moved path) are followed, at most five, and shown.
 * - A request that carries a payment header, the wrapper's paid retry or one the user gave with `-H`, never follows
 *   a redirect: a 3xx comes back as is, so the header reaches only the URL that answered 402.
 * @module
 */
import { PAYMENT_REQUEST_HEADERS } from 'x402-stacks/client';
import { decodePaymentSignatureHeader, decodeXPaymentHeader } from 'x402-stacks/protocol';
import { transactionIdOf } from 'x402-stacks/stacks';

/** Same-origin redirects the unpaid request may follow before the command gives up. */
export const MAX_REDIRECTS = 5;

/** A request `pay` refuses to make, with a stable snake_case reason. */
export class PayRefusal extends Error {
  override name = 'PayRefusal';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** What the guarded fetch reports as it goes. */
export type PayFetchEvents = {
  /** A same-origin redirect of the unpaid request, about to be followed. */
  redirect(status: number, from: string, to: string): void;
  /**
   * A 402 to the unpaid request. `response` is a clone, read at the same pace as the wrapper reads the original: the
   * two halves of a cloned body finish (or are cancelled) together, so waiting on one before handing the other over
   * would never end. Read it, but do not make the fetch wait for it.
   */
  challenged(url: string, response: Response): void;
  /** A request that carries a payment header is about to be sent; `txid` is the signed transaction's, when readable. */
  paying(request: Request, header: string, txid: string | undefined): void;
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Builds the guarded fetch.
 * @param origin the origin of the URL the user typed: the only one requests may go to.
 * @example
 * ```ts
 * const guarded = createPayFetch(fetch, new URL(url).origin, events);
 * const fetchWithPayment = wrapFetchWithPayment(guarded, account, options);
 * ```
 */
export function createPayFetch(
  fetchFn: typeof globalThis.fetch,
  origin: string,
  events: PayFetchEvents,
): typeof globalThis.fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const header = PAYMENT_REQUEST_HEADERS.find((name) => request.headers.has(name));
    if (header !== undefined) {
      if (new URL(request.url).origin !== origin) {
        // The wrapper pays the URL that answered 402, which this fetch kept on the origin; this is the last guard.
        throw new PayRefusal(
          'cross_origin_payment',
          `refused to send a payment to ${request.url}: not on ${origin}`,
        );
      }
      events.paying(request, header, signedTxidOf(header, request.headers.get(header)!));
      return fetchFn(new Request(request, { redirect: 'manual' }));
    }
    const response = await followWithinOrigin(fetchFn, request, origin, events);
    if (response.status === 402)
      await events.challenged(response.url || request.url, response.clone());
    return response;
  };
}

async function followWithinOrigin(
  fetchFn: typeof globalThis.fetch,
  first: Request,
  origin: string,
  events: PayFetchEvents,
): Promise<Response> {
  // Buffered once, so that a 307 or 308 can send the same body again.
  const body = first.body === null ? undefined : await first.arrayBuffer();
  let method = first.method;
  let url = first.url;
  for (let hop = 0; ; hop++) {
    const response = await fetchFn(
      new Request(url, {
        method,
        headers: first.headers,
        ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
        redirect: 'manual',
        signal: first.signal,
      }),
    );
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    const target = new URL(location, url);
    if (target.origin !== origin) {
      throw new PayRefusal(
        'cross_origin_redirect',
        `${url} redirects (${response.status}) to another origin, ${target.origin}; nothing was paid. ` +
          `To pay that site, run pay with its URL: ${target.href}`,
      );
    }
    if (hop + 1 >= MAX_REDIRECTS) {
      throw new PayRefusal(
        'too_many_redirects',
        `more than ${MAX_REDIRECTS} redirects from ${first.url}; nothing was paid`,
      );
    }
    events.redirect(response.status, url, target.href);
    // As fetch does: 303, and 301 or 302 after a POST, continue as a GET without the body.
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    ) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
    }
    url = target.href;
  }
}

/** The txid of the signed transaction a payment header carries, for the user to look up; undefined if unreadable. */
function signedTxidOf(header: string, value: string): string | undefined {
  try {
    const transaction =
      header === 'payment-signature'
        ? decodePaymentSignatureHeader(value).payload.transaction
        : /^(0x)?[0-9a-f]+$/i.test(value)
          ? value // x402-stacks 1.x sends the transaction itself, as hex.
          : decodeXPaymentHeader(value).payload.transaction;
    if (typeof transaction !== 'string') return undefined;
    return transactionIdOf(Buffer.from(transaction.replace(/^0x/, ''), 'hex'));
  } catch {
    return undefined;
  }
}
