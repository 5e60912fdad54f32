/**
 * `x402-stacks/express`: the payment middleware for Express 4 and 5. It uses Express's types only, so importing it
 * (or the package root, which re-exports it) never loads Express.
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PaymentMiddlewareOptions } from '../options.js';
import { errorReply, isPreflight, type PaywallReply } from '../replies.js';
import { createResourceServer, type DeferredAdmission, type Payment } from '../resource-server.js';
import { type HeldResponse, holdResponse, setPaymentHeaders } from './hold-response.js';

export type { PaymentMiddlewareOptions, PaymentMiddlewareOptionsV1 } from '../options.js';
export type { Payment } from '../resource-server.js';

// Per request, without widening Express's Request type: a WeakMap lets the request object go with its payment.
const payments = new WeakMap<Request, Payment>();

/**
 * Express middleware that puts a price on the routes after it. An unpaid request gets 402 with the
 * `payment-required` header; a paid one (`payment-signature`, or v1 `X-PAYMENT`) is settled through the facilitator
 * and then served with `payment-response`. Options are checked once, here: a bad option throws
 * `ServerConfigError` listing every problem.
 *
 * Every method is priced, `OPTIONS` included. A CORS preflight (`OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`) is answered 204 with an empty body and never reaches the handler: mount your CORS
 * middleware before this one, so that it answers preflights with its headers.
 *
 * @param options See {@link PaymentMiddlewareOptions}; `settle` defaults to `'before-handler'`.
 * @throws {ServerConfigError}
 * @example
 * ```ts
 * import express from 'express';
 * import { getPayment, paymentMiddleware, STXtoMicroSTX } from 'x402-stacks';
 *
 * const app = express();
 * app.get(
 *   '/api/premium-data',
 *   paymentMiddleware({
 *     amount: STXtoMicroSTX(0.00001),
 *     payTo: process.env.SERVER_ADDRESS!,
 *     network: 'testnet',
 *     facilitatorUrl: process.env.FACILITATOR_URL!,
 *   }),
 *   (req, res) => res.json({ transaction: getPayment(req)?.transaction }),
 * );
 * ```
 */
export function paymentMiddleware(options: PaymentMiddlewareOptions<Request>): RequestHandler {
  const server = createResourceServer<Request>(options);
  return async function paymentMiddleware(req: Request, res: Response, next: NextFunction) {
    let held: HeldResponse | undefined;
    let deferred: DeferredAdmission | undefined;
    // A CORS preflight asks whether the real request may be sent; it is never the paid request itself, and it never
    // reaches the handler: a CORS middleware mounted before this one answers it with its headers; if none did, it
    // gets an empty 204 here. Any other OPTIONS is a request like the rest, priced.
    if (isPreflight(req.method, req.headers.origin, req.headers['access-control-request-method'])) {
      res.statusCode = 204;
      res.end();
      return;
    }
    try {
      const admission = await server.admit({
        url: `${req.protocol}://${req.headers.host ?? 'localhost'}${req.originalUrl}`,
        header: (name) => {
          const value = req.headers[name];
          return Array.isArray(value) ? value[0] : value;
        },
        request: req,
      });
      if (admission.action === 'reply') return send(res, admission.reply);
      payments.set(req, admission.payment);
      if (admission.action === 'serve') {
        setPaymentHeaders(res, admission.headers, true);
        return next();
      }
      // after-handler: hold the handler's response until the payment settles; a failed handler is never charged.
      // The payment stays reserved until then; any way out without a settlement releases it (finally, below).
      deferred = admission;
      held = holdResponse(res);
      next();
      const { ended } = await held.finished;
      if (!ended) return;
      if (res.statusCode >= 400) return held.release();
      const settled = await admission.settle();
      if (settled.action === 'reply') {
        const { status, headers, body } = settled.reply;
        return held.replace(status, headers, body);
      }
      payments.set(req, settled.payment);
      held.release(settled.headers);
    } catch (error) {
      // after-handler, the handler's response still held: an error handler would write into the hold and the
      // response would never end. The held content is dropped for a 500 of the middleware's own, without internals.
      if (held?.holding) {
        const { status, headers, body } = errorReply(
          500,
          'unexpected_settle_error',
          'the payment could not be settled for an unexpected reason; the response was not sent',
        );
        return held.replace(status, headers, body);
      }
      // Released already: part of the response may be out, so it cannot become an error answer; it is cut.
      if (held) return void res.destroy();
      next(error);
    } finally {
      // A no-op after settle(); otherwise the handler failed or the client went away, and the payment is free again.
      deferred?.release();
    }
  };
}

/**
 * The payment of a request that passed `paymentMiddleware`: `{ transaction, payer, network, amount, asset, … }`, or
 * `undefined` on a route without the middleware.
 *
 * @example
 * ```ts
 * app.get('/api/data', paymentMiddleware(options), (req, res) => {
 *   const payment = getPayment(req);
 *   res.json({ data: 'Premium content', transaction: payment?.transaction });
 * });
 * ```
 */
export function getPayment(req: Request): Payment | undefined {
  return payments.get(req);
}

function send(res: Response, reply: PaywallReply): void {
  res.statusCode = reply.status;
  setPaymentHeaders(res, reply.headers);
  res.end(reply.body);
}
