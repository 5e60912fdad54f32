/**
 * `settle: 'after-handler'` runs the handler once per payment: concurrent requests carrying one payment, or several
 * payments on one payer nonce, get 402 `payment_in_progress` before any handler runs; a failed handler frees the
 * payment for a retry. On Express 5 and Hono 4, against the devnet and the facilitator service over HTTP.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express, { type Request, type Response } from 'express';
import { type Context, Hono } from 'hono';
import type { PaymentRequirements } from 'x402-stacks';
import * as expressMiddleware from 'x402-stacks/express';
import * as honoMiddleware from 'x402-stacks/hono';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import type { Payment, PaymentMiddlewareOptions } from 'x402-stacks/server';
import { paymentHeaders, type Stack, startStack } from './server-setup.js';

const PRICE = 1500n;
const FEE = 400n;

type Answer = { status: number; text: string; error?: string };

/** What the handlers saw: one entry per run. */
type Run = { route: string; payer: string; transaction: string };

/**
 * The routes' handlers: `/order` answers 200 after a short pause (a window for concurrent requests), `/flaky`
 * answers 500 while `failNext` is set, after waiting on `gate`.
 */
type Seller = {
  url: string;
  runs: Run[];
  failNext: boolean;
  gate: Promise<void>;
  /** Resolves when a `/flaky` run starts waiting on the gate. */
  waiting: Promise<void>;
  stop(): Promise<void>;
};

const FRAMEWORKS = ['express 5', 'hono 4'] as const;

let stack: Stack;
before(async () => {
  stack = await startStack(16);
});
after(() => stack.stop());

function routeOptions(): PaymentMiddlewareOptions<never> {
  return {
    amount: PRICE.toString(),
    payTo: stack.seller,
    network: 'testnet',
    facilitatorUrl: stack.facilitatorUrl,
    sponsored: false,
    settle: 'after-handler',
  };
}

async function startSeller(framework: (typeof FRAMEWORKS)[number]): Promise<Seller> {
  let signalWaiting!: () => void;
  const seller = {
    runs: [] as Run[],
    failNext: false,
    gate: Promise.resolve(),
    waiting: new Promise<void>((resolve) => {
      signalWaiting = resolve;
    }),
  };
  // The handler's work, shared by both frameworks: the status it answers with.
  async function handle(route: string, payment: Payment | undefined): Promise<number> {
    seller.runs.push({
      route,
      payer: payment?.payer ?? '',
      transaction: payment?.transaction ?? '',
    });
    if (route === '/flaky' && seller.failNext) {
      seller.failNext = false;
      signalWaiting();
      await seller.gate;
      return 500;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    return 200;
  }

  if (framework === 'express 5') {
    const app = express();
    for (const route of ['/order', '/flaky']) {
      app.post(
        route,
        expressMiddleware.paymentMiddleware(routeOptions() as PaymentMiddlewareOptions<Request>),
        async (req: Request, res: Response) => {
          const status = await handle(route, expressMiddleware.getPayment(req));
          res.status(status).json({ content: status === 200 ? 'order placed' : 'failed' });
        },
      );
    }
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return Object.assign(seller, {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
  }
  const app = new Hono();
  for (const route of ['/order', '/flaky']) {
    app.post(
      route,
      honoMiddleware.paymentMiddleware(routeOptions() as PaymentMiddlewareOptions<Context>),
      async (c) => {
        const status = await handle(route, honoMiddleware.getPayment(c));
        return c.json({ content: status === 200 ? 'order placed' : 'failed' }, status as 200);
      },
    );
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  return Object.assign(seller, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

async function post(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers, body: 'one order' });
  const text = await response.text();
  let error: string | undefined;
  try {
    error = (JSON.parse(text) as { error?: string }).error;
  } catch {
    error = undefined;
  }
  return { status: response.status, text, ...(error === undefined ? {} : { error }) };
}

for (const framework of FRAMEWORKS) {
  describe(`after-handler runs the handler once per payment on ${framework}`, () => {
    let seller: Seller;
    let entry: PaymentRequirements;
    before(async () => {
      seller = await startSeller(framework);
      const unpaid = await fetch(`${seller.url}/order`, { method: 'POST' });
      assert.equal(unpaid.status, 402);
      entry = decodePaymentRequiredHeader(unpaid.headers.get('payment-required')!).accepts[0]!;
    });
    after(() => seller.stop());

    const stx = (address: string) => stack.devnet.chain.state.stx(address);
    const runsOf = (payer: string) => seller.runs.filter((run) => run.payer === payer);

    test('10 concurrent POSTs carrying one payment: one handler run, one 200, the rest refused, paid once', async () => {
      const payer = stack.freshPayer();
      const sellerBefore = stx(stack.seller);
      const payerBefore = stx(payer.address);
      const { headers, txid } = await paymentHeaders(payer, entry, { fee: FEE });
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => post(`${seller.url}/order`, headers)),
      );

      assert.equal(runsOf(payer.address).length, 1, 'the handler ran once');
      assert.equal(answers.filter((a) => a.status === 200).length, 1);
      for (const refused of answers.filter((a) => a.status !== 200)) {
        assert.equal(refused.status, 402, refused.text);
        assert.ok(
          // Held by the request being served; or, arriving once it settled, refused as spent (by the seller, or
          // by the facilitator's /verify: its ledger knows the txid, the chain the nonce).
          [
            'payment_in_progress',
            'duplicate_settlement',
            'invalid_exact_stacks_payload_txid_reused',
            'invalid_exact_stacks_payload_nonce',
          ].includes(refused.error ?? ''),
          refused.text,
        );
        assert.doesNotMatch(refused.text, /order placed/);
      }
      assert.ok(
        answers.some((a) => a.error === 'payment_in_progress'),
        'concurrent requests are refused while the first is served',
      );
      assert.equal(stx(stack.seller), sellerBefore + PRICE, 'the seller was paid once');
      assert.equal(stx(payer.address), payerBefore - PRICE - FEE, 'the payer paid once');
      assert.equal((await stack.engine.status(txid))?.state, 'success');
    });

    test('six payments signed on one nonce by one payer, concurrently: one handler run, one settlement', async () => {
      const payer = stack.freshPayer();
      const sellerBefore = stx(stack.seller);
      const payerBefore = stx(payer.address);
      // Six different transactions (their fees differ) spending the same nonce, of which at most one can settle.
      const payments = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          paymentHeaders(payer, entry, { nonce: 0n, fee: FEE + BigInt(i) }),
        ),
      );
      assert.equal(new Set(payments.map((p) => p.txid)).size, 6);
      const answers = await Promise.all(
        payments.map(({ headers }) => post(`${seller.url}/order`, headers)),
      );

      assert.equal(runsOf(payer.address).length, 1, 'the handler ran once');
      assert.equal(answers.filter((a) => a.status === 200).length, 1);
      for (const refused of answers.filter((a) => a.status !== 200)) {
        assert.equal(refused.status, 402, refused.text);
        assert.ok(
          [
            'payment_in_progress',
            'invalid_exact_stacks_payload_nonce_reused',
            'invalid_exact_stacks_payload_nonce',
          ].includes(refused.error ?? ''),
          refused.text,
        );
      }
      assert.equal(stx(stack.seller), sellerBefore + PRICE, 'the seller was paid once');
      const paidFee = payerBefore - PRICE - stx(payer.address);
      assert.ok(paidFee >= FEE && paidFee < FEE + 6n, `one fee was paid, not ${paidFee}`);
    });

    test('a handler that fails (500) releases the payment: refused while it runs, served when retried', async () => {
      const payer = stack.freshPayer();
      const sellerBefore = stx(stack.seller);
      const { headers, txid } = await paymentHeaders(payer, entry, { fee: FEE });
      let openGate!: () => void;
      seller.gate = new Promise((resolve) => {
        openGate = resolve;
      });
      seller.failNext = true;

      // The gate is opened whatever happens: a run left waiting on it would keep the server from stopping.
      try {
        const failing = post(`${seller.url}/flaky`, headers);
        await seller.waiting;
        const concurrent = await post(`${seller.url}/flaky`, headers);
        assert.equal(concurrent.status, 402, concurrent.text);
        assert.equal(concurrent.error, 'payment_in_progress');
        openGate();
        const failed = await failing;
        assert.equal(failed.status, 500, failed.text);
        assert.equal(await stack.engine.status(txid), undefined, 'the failed run settled nothing');

        const retried = await post(`${seller.url}/flaky`, headers);
        assert.equal(retried.status, 200, retried.text);
        assert.equal(runsOf(payer.address).length, 2, 'the failed run and the retry');
        assert.equal(stx(stack.seller), sellerBefore + PRICE, 'paid once');
        assert.equal((await stack.engine.status(txid))?.state, 'success');
      } finally {
        openGate();
      }
    });
  });
}
