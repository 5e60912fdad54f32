/**
 * `x402-stacks/hono`: the payment middleware for Hono 4, on any runtime Hono runs on. The payment is typed in Hono's
 * context variables (`c.get('x402Payment')`), and `getPayment(c)` reads it.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { PaymentMiddlewareOptions } from '../options.js';
import {
  isPreflight,
  type PaywallReply,
  paymentHeaderValue,
  withExposedHeaders,
} from '../replies.js';
import { createResourceServer, type Payment } from '../resource-server.js';

export type { PaymentMiddlewareOptions } from '../options.js';
export type { Payment } from '../resource-server.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by x402-stacks' `paymentMiddleware` on a paid request. */
    x402Payment: Payment;
  }
}

/**
 * Hono middleware that puts a price on the routes after it: 402 with `payment-required` when unpaid; settled through
 * the facilitator and served with `payment-response` when paid. With `settle: 'after-handler'`, the payment is
 * verified first and settled only when the handler answered below 400; a failed settlement replaces the response
 * with a 402. Options are checked once, here.
 *
 * Every method is priced, `OPTIONS` included. A CORS preflight (`OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`) is answered 204 with an empty body and never reaches the handler: mount your CORS
 * middleware (`hono/cors`) before this one, so that it answers preflights with its headers.
 *
 * @throws {ServerConfigError} listing every problem with the options.
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { getPayment, paymentMiddleware } from 'x402-stacks/hono';
 *
 * const app = new Hono();
 * app.use('/api/premium/*', paymentMiddleware({ amount: '1000', payTo: SELLER, network: 'testnet', facilitatorUrl }));
 * app.get('/api/premium/data', (c) => c.json({ transaction: getPayment(c)?.transaction }));
 * ```
 */
export function paymentMiddleware(options: PaymentMiddlewareOptions<Context>): MiddlewareHandler {
  const server = createResourceServer<Context>(options);
  return async function paymentMiddleware(c, next) {
    // A CORS preflight asks whether the real request may be sent; it is never the paid request itself, and it never
    // reaches the handler: a CORS middleware mounted before this one answers it with its headers; if none did, it
    // gets an empty 204 here. Any other OPTIONS is a request like the rest, priced.
    if (
      isPreflight(
        c.req.method,
        c.req.header('origin'),
        c.req.header('access-control-request-method'),
      )
    ) {
      return c.body(null, 204);
    }
    const admission = await server.admit({
      url: c.req.url,
      header: (name) => c.req.header(name),
      request: c,
    });
    if (admission.action === 'reply') {
      // Through c.header: assigning a response over c.res copies its headers onto ours, so they must agree.
      addHeaders(c, admission.reply.headers);
      return c.body(admission.reply.body, admission.reply.status as ContentfulStatusCode);
    }
    c.set('x402Payment', admission.payment);
    if (admission.action === 'serve') {
      await next();
      addHeaders(c, admission.headers, true);
      return;
    }
    // after-handler: Hono hands the response back before sending it, so nothing leaves before the settlement. The
    // headers as they were before the handler are what a replacement keeps (CORS, request ids).
    const before = new Headers(c.res.headers);
    // The payment stays reserved until it settles; a failed handler (error status or throw) releases it, below.
    try {
      await next();
      if (c.error || c.res.status >= 400) return;
      const settled = await admission.settle();
      if (settled.action === 'reply') {
        // Drop the handler's body unread: it is the content of a payment that did not settle.
        await c.res.body?.cancel().catch(() => undefined);
        // Unset first: assigning over a response copies its headers (the handler's) onto the new one.
        c.res = undefined;
        c.res = replacement(before, settled.reply);
        return;
      }
      c.set('x402Payment', settled.payment);
      addHeaders(c, settled.headers, true);
    } finally {
      // A no-op after settle().
      admission.release();
    }
  };
}

/**
 * The payment of a request that passed `paymentMiddleware`, or `undefined` on a route without it.
 *
 * @example
 * ```ts
 * app.get('/api/premium/data', (c) => c.json({ payer: getPayment(c)?.payer }));
 * ```
 */
export function getPayment(c: Context): Payment | undefined {
  return c.get('x402Payment');
}

// The middleware's headers on c.res; see paymentHeaderValue.
function addHeaders(
  c: Context,
  headers: Readonly<Record<string, string>>,
  ownCacheControl = false,
): void {
  for (const [name, value] of Object.entries(headers)) {
    const current = c.res.headers.get(name) ?? undefined;
    const next = paymentHeaderValue(name, value, current, ownCacheControl);
    if (next !== undefined) c.header(name, next);
  }
}

function replacement(before: Headers, reply: PaywallReply): Response {
  const headers = new Headers(before);
  headers.delete('content-length');
  for (const [name, value] of Object.entries(reply.headers)) {
    headers.set(
      name,
      name === 'access-control-expose-headers'
        ? withExposedHeaders(before.get(name) ?? undefined)
        : value,
    );
  }
  return new Response(reply.body, { status: reply.status, headers });
}
