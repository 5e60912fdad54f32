/**
 * `x402-stacks/axios`: `wrapAxiosWithPayment` and its v1 name `withPaymentInterceptor`, an axios instance that pays
 * 402 responses on Stacks and retries once. The only module of the library that knows axios, and only its types.
 * @module
 */
import type {
  AxiosInstance,
  AxiosResponse,
  InternalAxiosRequestConfig,
  RawAxiosRequestHeaders,
} from 'axios';
import type { HeaderValue } from '../../protocol/headers.js';
import type { StacksAccount } from '../../stacks/accounts.js';
import { readPaymentChallenge } from '../challenge.js';
import { createPayer, PAYMENT_REQUEST_HEADERS, type PaymentOptions } from '../payer.js';

/**
 * Adds payment to an axios instance: a 402 is paid from `account` and the request retried once with the payment.
 * The instance is changed in place (a response interceptor) and returned.
 *
 * 1. A request that already carries `payment-signature` or `X-PAYMENT` is never paid: its 402 reaches the caller.
 * 2. On a 402 (rejected by `validateStatus` or not) the challenge is read from the `payment-required` header, or the
 *    body of a v1 server; a requirement is chosen within the spending policy, the balance checked and the payment
 *    signed. Nothing is broadcast by the buyer.
 * 3. The request is sent again through the same instance with the payment, exactly once. A served response is
 *    returned; its `payment-response` header holds the receipt. A second 402 rejects with
 *    {@link PaymentRejectedError} or {@link SettlementPendingError}, whose `response` is the axios response.
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
  account: StacksAccount,
  options: PaymentOptions = {},
): Instance {
  const payer = createPayer(account, options);

  async function payAndRetry(
    challenged: AxiosResponse,
    rejection: unknown,
  ): Promise<AxiosResponse> {
    const config = challenged.config;
    if (carriesPayment(config)) {
      if (rejection !== undefined) throw rejection;
      return challenged;
    }
    const challenge = readPaymentChallenge({
      header: headerOf(challenged, 'payment-required'),
      body: challenged.data,
    });
    const prepared = await payer.preparePayment(challenge, {
      url: axiosInstance.getUri(config),
    });
    let paid: AxiosResponse;
    let paidRejection: unknown;
    try {
      paid = await axiosInstance.request({
        ...config,
        headers: { ...plainHeaders(config), [prepared.header.name]: prepared.header.value },
      });
    } catch (error) {
      const response = (error as { response?: AxiosResponse }).response;
      if (!response) throw prepared.fail(error);
      paid = response;
      paidRejection = error;
    }
    await prepared.complete(
      { status: paid.status, header: (name) => headerOf(paid, name), body: paid.data },
      paid,
    );
    // Served, or an error status whose outcome is unknown: axios semantics for the latter.
    if (paidRejection !== undefined) throw paidRejection;
    return paid;
  }

  axiosInstance.interceptors.response.use(
    (response) => (response.status === 402 ? payAndRetry(response, undefined) : response),
    (error: unknown) => {
      const response = (error as { response?: AxiosResponse } | null)?.response;
      return response?.status === 402 ? payAndRetry(response, error) : Promise.reject(error);
    },
  );
  return axiosInstance;
}

/**
 * The v1 name of {@link wrapAxiosWithPayment}, kept for code written against x402-stacks 1.x.
 * @deprecated Use {@link wrapAxiosWithPayment}.
 * @example
 * ```ts
 * const api = withPaymentInterceptor(axios.create(), account);
 * ```
 */
export const withPaymentInterceptor = wrapAxiosWithPayment;

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

function headerOf(response: AxiosResponse, name: string): HeaderValue {
  const headers = response.headers as Record<string, HeaderValue> & {
    get?: (name: string) => unknown;
  };
  const value = headers[name] ?? headers.get?.(name);
  return value as HeaderValue;
}

export type { PaymentOptions, PaymentRequiredContext } from '../payer.js';
export type { PaymentReceipt } from '../prepared.js';
