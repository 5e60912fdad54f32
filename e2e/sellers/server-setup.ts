/**
 * Shared setup of the server tests: one devnet (mining on every broadcast) and one facilitator service over real
 * HTTP on 127.0.0.1, a fresh funded payer per scenario, and payments built from the library's primitives.
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Devnet, type DevnetAccount, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import express, { type Request, type Response } from 'express';
import { type Context, Hono } from 'hono';
import {
  createFacilitator,
  type Facilitator,
  type PaymentRequirements,
  x402PaymentRequired,
} from 'x402-stacks';
import * as expressMiddleware from 'x402-stacks/express';
import * as honoMiddleware from 'x402-stacks/hono';
import { encodePaymentSignatureHeader, encodeXPaymentHeader } from 'x402-stacks/protocol';
import type {
  Payment,
  PaymentMiddlewareOptions,
  PaymentMiddlewareOptionsV1,
} from 'x402-stacks/server';
import { createPaymentTransaction } from 'x402-stacks/stacks';

// Express 4 is installed under the npm alias `express4`; its API is the one @types/express describes.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

/** sBTC on the devnet, as balances are keyed. */
export const SBTC = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token::sbtc-token';

export type Stack = {
  readonly devnet: Devnet;
  readonly engine: Facilitator;
  readonly facilitatorUrl: string;
  /** A URL where nothing listens: a facilitator that is down. */
  readonly deadUrl: string;
  readonly seller: string;
  readonly sponsor: string;
  /** A genesis account no other scenario has paid from, so its nonce is 0 and its balances are genesis. */
  freshPayer(): DevnetAccount;
  stop(): Promise<void>;
};

/**
 * Starts the devnet and the facilitator service. `accounts`: how many genesis accounts (payers) to fund. The last
 * account sponsors fees; account 0 is the seller.
 */
export async function startStack(accounts = 64): Promise<Stack> {
  const devnet = await startDevnet({ port: 0, accounts });
  const sponsorAccount = devnet.accounts[accounts - 1]!;
  const engine = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    sponsor: { privateKeys: sponsorAccount.privateKey },
    // Short, so that a stalled chain answers settlement_pending within a test.
    settleTimeoutMs: 800,
    pollIntervalMs: 10,
    trackForMs: 10_000,
  });
  const app = createFacilitatorApp({ facilitator: engine });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  let next = 1;
  return {
    devnet,
    engine,
    facilitatorUrl: `http://127.0.0.1:${port}`,
    deadUrl: 'http://127.0.0.1:9',
    seller: devnet.accounts[0]!.address,
    sponsor: sponsorAccount.address,
    freshPayer() {
      if (next >= accounts - 1) throw new Error('out of fresh payers: raise startStack(accounts)');
      return devnet.accounts[next++]!;
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.idle();
      await devnet.stop();
    },
  };
}

/** Options of {@link paymentHeaders}. */
export type PayOptions = {
  /** Pay this entry but claim `accepted` is something else. */
  accepted?: PaymentRequirements;
  /** Sign for other terms than the entry (a short amount, another payTo). */
  sign?: Partial<PaymentRequirements>;
  /** Send the v1 `X-PAYMENT` header instead of `payment-signature`. */
  v1?: boolean;
  nonce?: bigint;
  fee?: bigint;
  /** Name this `payment-identifier` id in the payload, as the library's buyers do by default. */
  paymentId?: string;
};

/** Signs a payment of `requirements` and returns the request headers carrying it, and its txid. */
export async function paymentHeaders(
  payer: DevnetAccount,
  requirements: PaymentRequirements,
  options: PayOptions = {},
): Promise<{ headers: Record<string, string>; txid: string }> {
  const signed = { ...requirements, ...options.sign };
  const sponsored = typeof signed.extra?.sponsor === 'string';
  const payment = await createPaymentTransaction({
    account: payer.account,
    requirements: signed,
    nonce: options.nonce ?? 0n,
    ...(sponsored ? {} : { fee: options.fee ?? 400n }),
  });
  const payload = { transaction: payment.transaction };
  const headers: Record<string, string> = options.v1
    ? {
        'x-payment': encodeXPaymentHeader({
          x402Version: 1,
          scheme: 'exact',
          network: 'testnet',
          payload,
        }),
      }
    : {
        'payment-signature': encodePaymentSignatureHeader({
          x402Version: 2,
          accepted: options.accepted ?? requirements,
          payload,
          ...(options.paymentId === undefined
            ? {}
            : {
                extensions: {
                  'payment-identifier': { info: { required: false, id: options.paymentId } },
                },
              }),
        }),
      };
  return { headers, txid: payment.txid };
}

/** How a seller route behaves behind the middleware. */
export type RouteSpec = {
  readonly path: string;
  readonly options: PaymentMiddlewareOptions<never> | PaymentMiddlewareOptionsV1<never>;
  /** `'throws'`: the handler fails after the payment was verified. Default `'ok'`. */
  readonly handler?: 'ok' | 'throws';
  /** Mount with the v1 alias `x402PaymentRequired` (Express only). */
  readonly v1Alias?: boolean;
};

/** The frameworks every scenario runs on. */
export const FRAMEWORKS = ['express 5', 'express 4', 'hono 4'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The paid content, and what the handler saw through getPayment. */
export type PaidBody = { content: string; payment?: Payment };

/** Serves the routes with one framework on 127.0.0.1 and returns its base URL and a stop function. */
export async function startSeller(
  framework: Framework,
  routes: readonly RouteSpec[],
): Promise<{ url: string; stop(): Promise<void> }> {
  if (framework === 'hono 4') return startHonoSeller(routes);
  const createApp = framework === 'express 5' ? express : express4;
  const app = createApp();
  // An earlier middleware, as CORS or request ids would be: what it sets must survive the payment middleware.
  app.use((_req: Request, res: Response, next: () => void) => {
    res.setHeader('access-control-expose-headers', 'x-request-id');
    next();
  });
  for (const route of routes) {
    const middleware = route.v1Alias
      ? x402PaymentRequired(route.options as PaymentMiddlewareOptionsV1<Request>)
      : expressMiddleware.paymentMiddleware(route.options as PaymentMiddlewareOptions<Request>);
    app.get(route.path, middleware, (req: Request, res: Response) => {
      if (route.handler === 'throws') throw new Error('the handler failed');
      res.setHeader('x-handler', 'ran');
      res.json({ content: 'secret', payment: expressMiddleware.getPayment(req) });
    });
  }
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startHonoSeller(routes: readonly RouteSpec[]) {
  const app = new Hono();
  app.use(async (c, next) => {
    c.header('access-control-expose-headers', 'x-request-id');
    await next();
  });
  for (const route of routes) {
    app.get(
      route.path,
      honoMiddleware.paymentMiddleware(route.options as PaymentMiddlewareOptions<Context>),
      (c) => {
        if (route.handler === 'throws') throw new Error('the handler failed');
        c.header('x-handler', 'ran');
        return c.json({ content: 'secret', payment: honoMiddleware.getPayment(c) });
      },
    );
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
