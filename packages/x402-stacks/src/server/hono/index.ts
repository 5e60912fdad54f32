/**
 * `x402-stacks/hono`: the payment middleware for Hono 4, on any runtime Hono runs on. The payment is typed in Hono's
 * context variables (`c.get('x402Payment')`), and `getPayment(c)` reads it.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { PaymentMiddlewareOptions } from '../options.js';
import type { PaywallReply } from '../replies.js';
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
    const admission = await server.admit({
      url: c.req.url,
      header: (name) => c.req.header(name),
      request: c,
    });
    if (admission.action === 'reply') return respond(admission.reply);
    c.set('x402Payment', admission.payment);
    if (admission.action === 'serve') {
      await next();
      addHeaders(c, admission.headers);
      return;
    }
    // after-handler: Hono hands the response back before sending it, so nothing leaves before the settlement.
    await next();
    if (c.error || c.res.status >= 400) return;
    const settled = await admission.settle();
    if (settled.action === 'reply') {
      // Drop the handler's body unread: it is the content of a payment that did not settle.
      await c.res.body?.cancel().catch(() => undefined);
      c.res = respond(settled.reply);
      return;
    }
    c.set('x402Payment', settled.payment);
    addHeaders(c, settled.headers);
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

// The receipt headers go on the handler's response; a cache-control the handler chose is its to keep.
function addHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'cache-control' || !c.res.headers.has(name)) c.header(name, value);
  }
}

function respond(reply: PaywallReply): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}
