/**
 * `x402-stacks/axios`: `wrapAxiosWithPayment`, an axios instance that pays
 * 402 responses on Stacks and retries once. The only module of the library that knows axios, and only its types.
 * @module
 */
import type {
  AxiosInstance,
  AxiosResponse,
  InternalAxiosRequestConfig,
  RawAxiosRequestHeaders,
} from 'axios';
import { SIGN_IN_WITH_X } from '../../extensions/sign-in-with-x/schema.js';
import type { HeaderValue } from '../../protocol/headers.js';
import type { StacksAccount } from '../../stacks/accounts.js';
import type { Signer } from '../../stacks/signer.js';
import { readPaymentChallenge } from '../challenge.js';
import { CREDENTIAL_HEADERS, isSameOrigin } from '../credentials.js';
import { PaymentRejectedError, UnreplayableRequestError } from '../errors.js';
import type { PaidAnswer } from '../outcome.js';
import { rememberPaymentReceipt } from '../paid-responses.js';
import { createPayer, PAYMENT_REQUEST_HEADERS, type PaymentOptions } from '../payer.js';
import type { PreparedPayment } from '../prepared.js';
import { redactPaymentHeaders } from '../redact.js';
import { provablyNotSent } from '../sent.js';

/**
 * Adds payment to an axios instance: a 402 is paid from `account` and the request retried once with the payment.
 * The instance is changed in place (a response interceptor) and returned.
 *
 * 1. A request that already carries `payment-signature` or `X-PAYMENT` is never paid: its 402 reaches the caller.
 * 2. On a 402 (rejected by `validateStatus` or not) the challenge is read from the `payment-required` header, or the
 *    body of a v1 server; a requirement is chosen within the spending policy, the balance checked and the payment
 *    signed. Nothing is broadcast by the buyer.
 *    The payment is for the URL that answered 402 (after any redirects of the unpaid request): that is the URL
 *    `onPaymentRequired` is shown, and the one the paid request goes to. A request whose body is a stream
 *    (`Readable`, `ReadableStream`) is refused with {@link UnreplayableRequestError} before signing: the unpaid
 *    request consumed it.
 * 3. The request is sent again through the same instance with the payment, with `maxRedirects: 0`: the payment
 *    header never follows a redirect (a 3xx is handled as axios handles any status). A served response is
 *    returned; its `payment-response` header holds the receipt, and `getPaymentReceipt(response)` the payment with
 *    any verified signed offer and receipt. A second 402 rejects with
 *    {@link PaymentRejectedError} or {@link SettlementPendingError}, whose `response` is the axios response.
 *    Whatever is returned or thrown has the payment header removed from its `config` and request. When the paid
 *    request gets no response (a reset, a timeout) and the payment carries a `payment-identifier` id, the same
 *    payment is sent again (`lostResponseRetries`, default once): the facilitator answers it with the stored outcome.
 * 4. With the `batch` option, a batch-settlement offer is paid from a channel; a refusal for a stale charged total
 *    whose corrective 402 checks out resynchronises the channel, and the request is paid once more. After a channel
 *    payment is served, the next request to the same method and URL within a minute carries its voucher at once
 *    (`batch.payAhead`, default on, a request interceptor); a 402 to it is read as the challenge and paid as in step 2.
 *
 * @param options spending policy, fees, chain source and hooks: see {@link PaymentOptions}.
 * @throws {PayerOptionsError} at once, for options that cannot be used.
 * @example
 * ```ts
 * import axios from 'axios';
 * import { decodePaymentResponse, privateKeyToAccount, wrapAxiosWithPayment } from 'x402-stacks';
 *
 * const account = privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY!, 'testnet');
 * const api = wrapAxiosWithPayment(axios.create({ baseURL: 'http://localhost:3003' }), account);
 * const response = await api.get('/api/premium-data');
 * console.log(decodePaymentResponse(response.headers['payment-response'])?.transaction);
 * ```
 */
export function wrapAxiosWithPayment<Instance extends AxiosInstance>(
  axiosInstance: Instance,
  account: StacksAccount | Signer,
  options: PaymentOptions = {},
): Instance {
  const payer = createPayer(account, options);

  async function payAndRetry(
    challenged: AxiosResponse,
    rejection: unknown,
    ahead?: { readonly resynced: boolean },
  ): Promise<AxiosResponse> {
    const paidAhead = ahead !== undefined;
    const config = challenged.config;
    // The paid retry and the sign-in attempt are answered by the call that sent them, not paid here again; a 402 to
    // a payment sent ahead is paid as a fresh challenge.
    if (
      !paidAhead &&
      (carriesPayment(config) || (config as SignInMarked)[SIGN_IN_ATTEMPT] === true)
    ) {
      if (rejection !== undefined) throw rejection;
      return challenged;
    }
    let challenge = readPaymentChallenge({
      header: headerOf(challenged, 'payment-required'),
      body: challenged.data,
    });
    if (isStream(config.data)) {
      throw new UnreplayableRequestError(
        'the request body is a stream, which the unpaid request consumed',
        { response: challenged },
      );
    }
    const requested = axiosInstance.getUri(config);
    // The URL that asked to be paid: the last one of the unpaid request's redirects.
    const url = answeringUrl(challenged) ?? requested;
    // The retries go to that URL; on another origin, without the credentials (and `auth`) given for the first one,
    // which the redirect dropped too.
    const elsewhere =
      url === requested
        ? {}
        : {
            url,
            baseURL: undefined,
            params: undefined,
            ...(isSameOrigin(url, requested) ? {} : { auth: undefined }),
          };
    // Sign in first when the buyer opted in and the seller offers it: a payer it remembers is served unpaid. Any
    // answer but 402 is the seller's (returned or thrown as axios would); a 402 is a fresh challenge, paid below.
    const signIn =
      paidAhead || carriesHeader(config, SIGN_IN_WITH_X)
        ? undefined
        : await payer.signIn(challenge, { url });
    if (signIn) {
      let answer: AxiosResponse;
      let answerRejection: unknown;
      try {
        answer = await axiosInstance.request({
          ...config,
          ...elsewhere,
          maxRedirects: 0,
          headers: { ...retryHeaders(config, url, requested), [signIn.name]: signIn.value },
          [SIGN_IN_ATTEMPT]: true,
        } as SignInMarked);
      } catch (error) {
        const response = (error as { response?: AxiosResponse }).response;
        if (!response) throw error;
        answer = response;
        answerRejection = error;
      }
      if (answer.status !== 402) {
        if (answerRejection !== undefined) throw answerRejection;
        return answer;
      }
      challenge = readPaymentChallenge({
        header: headerOf(answer, 'payment-required'),
        body: answer.data,
      });
    }
    // A batch-settlement payment refused for a stale charged total is paid once more, from the corrected channel.
    // A refusal of a payment sent ahead that already resynchronised the channel was this request's one resync.
    for (let round = ahead?.resynced ? 1 : 0; ; round++) {
      const prepared = await payer.preparePayment(challenge, { url, method: methodOf(config) });
      const mayResync = round === 0 && prepared.resynchronised !== undefined;
      let paid: AxiosResponse | undefined;
      let paidRejection: unknown;
      // Whether any send may have reached the server: then the budget keeps the amount whatever happens next.
      let maybeSent = false;
      for (let attempt = 0; paid === undefined; attempt++) {
        try {
          paid = await axiosInstance.request({
            ...config,
            ...elsewhere,
            maxRedirects: 0,
            headers: {
              ...retryHeaders(config, url, requested),
              [prepared.header.name]: prepared.header.value,
            },
          });
        } catch (error) {
          const response = (error as { response?: AxiosResponse }).response;
          if (!response) {
            redactPaymentHeaders(error);
            maybeSent ||= !provablyNotSent(error);
            // The response was lost (a reset, a timeout): the same payment under the same id again, unless the
            // caller cancelled the request.
            if (attempt < prepared.lostResponseRetries && !isCancel(error)) continue;
            throw prepared.fail(error, maybeSent ? undefined : { sent: false });
          }
          paid = response;
          paidRejection = error;
        }
      }
      redactPaymentHeaders(paid);
      if (paidRejection !== undefined) redactPaymentHeaders(paidRejection);
      const answered = paid;
      let receipt: Awaited<ReturnType<typeof prepared.complete>>;
      try {
        receipt = await prepared.complete(paidAnswerOf(answered), answered);
      } catch (error) {
        if (mayResync && prepared.resynchronised?.()) continue;
        throw error;
      }
      if (receipt) rememberPaymentReceipt(answered, receipt);
      // Served, or an error status whose outcome is unknown: axios semantics for the latter.
      if (paidRejection !== undefined) throw paidRejection;
      return answered;
    }
  }

  /**
   * A resource paid over a channel a moment ago is paid with the first request (`batch.payAhead`): the prepared
   * payment rides on the request config, and the response interceptor reads its answer.
   */
  async function payAhead(config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> {
    const marked = config as AheadMarked;
    if (
      carriesPayment(config) ||
      (config as SignInMarked)[SIGN_IN_ATTEMPT] === true ||
      isStream(config.data)
    ) {
      return config;
    }
    const url = axiosInstance.getUri(config);
    const method = methodOf(config);
    const challenge = payer.challengeAhead({ url, method });
    if (challenge === undefined) return config;
    const prepared = await payer.preparePayment(challenge, { url, method });
    config.headers.set(prepared.header.name, prepared.header.value);
    // As the paid retry: the payment never follows a redirect, and a 3xx is the answer.
    config.maxRedirects = 0;
    marked[PAID_AHEAD] = prepared;
    return config;
  }

  /** The answer to a request paid ahead: served, or a 402 paid as a fresh challenge, or what axios would do. */
  async function answerAhead(
    prepared: PreparedPayment,
    response: AxiosResponse | undefined,
    rejection: unknown,
  ): Promise<AxiosResponse> {
    if (response === undefined) {
      redactPaymentHeaders(rejection);
      throw prepared.fail(rejection, provablyNotSent(rejection) ? { sent: false } : undefined);
    }
    redactPaymentHeaders(response);
    if (rejection !== undefined) redactPaymentHeaders(rejection);
    const unpaidConfig = response.config as AheadMarked;
    delete unpaidConfig[PAID_AHEAD];
    let receipt: Awaited<ReturnType<typeof prepared.complete>>;
    try {
      receipt = await prepared.complete(paidAnswerOf(response), response);
    } catch (error) {
      if (response.status === 402 && error instanceof PaymentRejectedError) {
        return payAndRetry(response, rejection, { resynced: prepared.resynchronised?.() === true });
      }
      throw error;
    }
    if (receipt) rememberPaymentReceipt(response, receipt);
    if (rejection !== undefined) throw rejection;
    return response;
  }

  axiosInstance.interceptors.request.use(payAhead);
  axiosInstance.interceptors.response.use(
    (response) => {
      const ahead = (response.config as AheadMarked)[PAID_AHEAD];
      if (ahead) return answerAhead(ahead, response, undefined);
      return response.status === 402 ? payAndRetry(response, undefined) : response;
    },
    (error: unknown) => {
      const { response, config } = (error ?? {}) as {
        response?: AxiosResponse;
        config?: AheadMarked;
      };
      const ahead =
        (response?.config as AheadMarked | undefined)?.[PAID_AHEAD] ?? config?.[PAID_AHEAD];
      if (ahead) return answerAhead(ahead, response, error);
      return response?.status === 402 ? payAndRetry(response, error) : Promise.reject(error);
    },
  );
  return axiosInstance;
}

/** The request's method, upper case, as the pay-ahead memory keys it. */
function methodOf(config: InternalAxiosRequestConfig): string {
  return (config.method ?? 'get').toUpperCase();
}

// Marks the request config of a payment sent ahead, which axios carries through to its response's config.
const PAID_AHEAD = 'x402PaidAhead';
type AheadMarked = InternalAxiosRequestConfig & { [PAID_AHEAD]?: PreparedPayment };

/** A request its caller cancelled (an abort signal or a cancel token): the caller gave up, nothing is resent. */
function isCancel(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return code === 'ERR_CANCELED' || name === 'CanceledError';
}

// Marks the request config of a sign-in attempt, which axios carries through to its response's config.
const SIGN_IN_ATTEMPT = 'x402SignInAttempt';
type SignInMarked = InternalAxiosRequestConfig & { [SIGN_IN_ATTEMPT]?: boolean };

function carriesHeader(config: InternalAxiosRequestConfig, name: string): boolean {
  return Object.keys(plainHeaders(config)).some((key) => key.toLowerCase() === name);
}

function carriesPayment(config: InternalAxiosRequestConfig): boolean {
  const headers = plainHeaders(config);
  return Object.keys(headers).some((name) =>
    (PAYMENT_REQUEST_HEADERS as readonly string[]).includes(name.toLowerCase()),
  );
}

function plainHeaders(config: InternalAxiosRequestConfig): RawAxiosRequestHeaders {
  const headers = config.headers as unknown as
    | { toJSON?: () => RawAxiosRequestHeaders }
    | undefined;
  if (!headers) return {};
  return typeof headers.toJSON === 'function'
    ? headers.toJSON()
    : ({ ...headers } as RawAxiosRequestHeaders);
}

/** The request's headers for a retry to `url`: without the credential headers when `url` is on another origin. */
function retryHeaders(
  config: InternalAxiosRequestConfig,
  url: string,
  requested: string,
): RawAxiosRequestHeaders {
  const headers = plainHeaders(config);
  if (isSameOrigin(url, requested)) return headers;
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name.toLowerCase())),
  ) as RawAxiosRequestHeaders;
}

/** A Node `Readable` or a web `ReadableStream`: read once, by the unpaid request. */
function isStream(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  const body = data as { pipe?: unknown; on?: unknown; getReader?: unknown };
  return (
    (typeof body.pipe === 'function' && typeof body.on === 'function') ||
    typeof body.getReader === 'function'
  );
}

/**
 * The URL that answered, when the adapter says: Node's follow-redirects (`res.responseUrl`) or the browser's XHR
 * (`responseURL`).
 */
function answeringUrl(response: AxiosResponse): string | undefined {
  const request = response.request as
    | { res?: { responseUrl?: unknown }; responseURL?: unknown }
    | undefined;
  const url = request?.res?.responseUrl ?? request?.responseURL;
  return typeof url === 'string' && url !== '' ? url : undefined;
}

/** The parts of an axios response the payer reads. */
function paidAnswerOf(response: AxiosResponse): PaidAnswer {
  return {
    status: response.status,
    header: (name) => headerOf(response, name),
    body: response.data,
  };
}

function headerOf(response: AxiosResponse, name: string): HeaderValue {
  const headers = response.headers as Record<string, HeaderValue> & {
    get?: (name: string) => unknown;
  };
  const value = headers[name] ?? headers.get?.(name);
  return value as HeaderValue;
}

export { getPaymentReceipt } from '../paid-responses.js';
export type { PaymentOptions, PaymentRequiredContext } from '../payer.js';
export type { PaymentReceipt } from '../prepared.js';
