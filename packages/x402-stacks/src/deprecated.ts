/**
 * Every deprecated name the package exports, in one place. Each is kept so that code written against x402-stacks
 * 1.x or 2.x runs unchanged, behaves exactly as the replacement its `@deprecated` tag names, and is exported from the
 * package root only. New code imports the replacement.
 * @module
 */
import { wrapAxiosWithPayment } from './client/axios/index.js';
import { type getPayment, paymentMiddleware } from './server/express/index.js';
import { fromV1Options, type PaymentMiddlewareOptionsV1 } from './server/options.js';

// Express's request type as the Express adapter takes it, so this file never names the `express` package itself.
type ExpressRequest = Parameters<typeof getPayment>[0];

/**
 * The x402-stacks 1.x name of {@link wrapAxiosWithPayment}: the same function.
 * @deprecated Use {@link wrapAxiosWithPayment}.
 * @example
 * ```ts
 * const api = withPaymentInterceptor(axios.create(), account);
 * ```
 */
export const withPaymentInterceptor = wrapAxiosWithPayment;

/**
 * The x402-stacks 1.x name of {@link paymentMiddleware} (Express), taking the seller's address as `address` where
 * v2 says `payTo`. It answers in v2 and accepts both `payment-signature` and `X-PAYMENT`.
 * @deprecated Use {@link paymentMiddleware} with `payTo`.
 * @example
 * ```ts
 * app.get('/api/data', x402PaymentRequired({ amount: STXtoMicroSTX(0.001), address: SERVER_ADDRESS,
 *   network: 'testnet', facilitatorUrl: FACILITATOR_URL }), handler);
 * ```
 */
export function x402PaymentRequired(
  options: PaymentMiddlewareOptionsV1<ExpressRequest>,
): ReturnType<typeof paymentMiddleware> {
  return paymentMiddleware(fromV1Options(options));
}
