/**
 * sign-in-with-x on the devnet, end to end: Express 5 and Hono 4 sellers with `signInWithX`, the facilitator service
 * over HTTP, and the fetch and axios wrappers with `signInWithX: true`. A buyer pays once, is then served on a
 * signed proof without paying (the chain's balances say so), and pays again after the access period. Cross-host,
 * expired, replayed and testnet-on-mainnet proofs are refused by name.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import axios from 'axios';
import express, { type Request, type Response } from 'express';
import { type Context, Hono } from 'hono';
import { wrapAxiosWithPayment } from 'x402-stacks/axios';
import * as expressMiddleware from 'x402-stacks/express';
import {
  createSiwxStacksProof,
  encodeSiwxHeader,
  readSiwxDeclaration,
  type SiwxInfo,
  type SiwxPayload,
} from 'x402-stacks/extensions';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import * as honoMiddleware from 'x402-stacks/hono';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import type { PaymentMiddlewareOptions } from 'x402-stacks/server';
import { type StacksAccount, signStructuredData } from 'x402-stacks/stacks';
import { type Stack, startStack } from '../sellers/server-setup.js';

const PRICE = 1_000n;
const ACCESS_MS = 3_600_000;

type Seller = { url: string; stop(): Promise<void> };

/** The seller's clock: real time plus what a test moves it by, so the access period can pass without waiting. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };

/**
 * A seller whose one route `/data` offers sign-in. It listens first, so that its public origin (with its port) is
 * known and configured, as a deployed seller's would be.
 */
async function startSeller(
  framework: 'express 5' | 'hono 4',
  options: (origin: string) => PaymentMiddlewareOptions<never>,
): Promise<Seller> {
  if (framework === 'express 5') {
    const app = express();
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    app.get(
      '/data',
      expressMiddleware.paymentMiddleware(options(origin) as PaymentMiddlewareOptions<Request>),
      (req: Request, res: Response) => {
        res.json({ content: 'secret', payment: expressMiddleware.getPayment(req) });
      },
    );
    return { url: origin, stop: () => new Promise((resolve) => server.close(() => resolve())) };
  }
  const app = new Hono();
  let middleware: ReturnType<typeof honoMiddleware.paymentMiddleware> | undefined;
  app.get(
    '/data',
    (c, next) => middleware!(c, next),
    (c) => c.json({ content: 'secret', payment: honoMiddleware.getPayment(c) }),
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  middleware = honoMiddleware.paymentMiddleware(
    options(origin) as PaymentMiddlewareOptions<Context>,
  );
  return { url: origin, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A fresh challenge from the seller's 402. */
async function challengeAt(url: string): Promise<SiwxInfo> {
  const response = await fetch(url);
  assert.equal(response.status, 402);
  await response.body?.cancel();
  const declared = readSiwxDeclaration(
    decodePaymentRequiredHeader(response.headers.get('payment-required')!).extensions,
  );
  assert.ok(declared);
  return declared.info;
}

function proofOf(account: StacksAccount, info: SiwxInfo, chainId = 'stacks:2147483648') {
  return createSiwxStacksProof(info, chainId, account.address, (domain, message) =>
    signStructuredData(account.privateKey, domain, message),
  );
}

/** Sends a proof by hand; the answer's status and, on a 402, its reason. */
async function signInWith(url: string, proof: SiwxPayload) {
  const response = await fetch(url, { headers: { 'sign-in-with-x': encodeSiwxHeader(proof) } });
  const body = (await response.json()) as { error?: string; payment?: { signInWithX?: unknown } };
  return { status: response.status, error: body.error, body };
}

for (const framework of ['express 5', 'hono 4'] as const) {
  describe(`sign-in-with-x on the devnet (${framework})`, () => {
    let stack: Stack;
    let seller: Seller;
    let mainnetSeller: Seller;

    before(async () => {
      stack = await startStack(8);
      const route = (origin: string) =>
        ({
          amount: PRICE.toString(),
          payTo: stack.seller,
          network: 'testnet',
          facilitatorUrl: stack.facilitatorUrl,
          sponsored: false,
          signInWithX: { origin, accessMs: ACCESS_MS, clock: clock.now, statement: 'Sign in' },
        }) as const;
      seller = await startSeller(framework, route);
      mainnetSeller = await startSeller(framework, (origin) => ({
        ...route(origin),
        network: 'mainnet',
        payTo: 'SP000000000000000000002Q6VF78',
      }));
    });
    after(async () => {
      await seller.stop();
      await mainnetSeller.stop();
      await stack.stop();
    });

    test('pay once, then served on a sign-in without paying, then after the period pay again', async () => {
      clock.offset = 0;
      const payer = stack.freshPayer();
      const fetchWithPayment = wrapFetchWithPayment(fetch, payer.account, {
        apiUrl: stack.devnet.url,
        signInWithX: true,
      });
      const url = `${seller.url}/data`;
      const balance = () => stack.devnet.chain.state.stx(stack.seller);
      const start = balance();

      // Never paid: the sign-in is answered with the plain 402, and the wrapper pays it.
      const first = await fetchWithPayment(url);
      assert.equal(first.status, 200);
      assert.ok(first.headers.get('payment-response'));
      assert.equal(balance(), start + PRICE);

      // Paid within the period: served on the proof, nothing moves on chain.
      const second = await fetchWithPayment(url);
      assert.equal(second.status, 200);
      assert.equal(second.headers.get('payment-response'), null);
      const served = (await second.json()) as { payment: { signInWithX?: { address: string } } };
      assert.equal(served.payment.signInWithX?.address, payer.address);
      assert.equal(balance(), start + PRICE);

      // axios, the same account's record.
      const api = wrapAxiosWithPayment(axios.create(), payer.account, {
        apiUrl: stack.devnet.url,
        signInWithX: true,
      });
      const third = await api.get(url);
      assert.equal(third.status, 200);
      assert.equal(third.headers['payment-response'], undefined);
      assert.equal(balance(), start + PRICE);

      // The period is over: a proof gets the plain 402, and the wrapper pays again.
      clock.offset = ACCESS_MS;
      const late = await signInWith(url, await proofOf(payer.account, await challengeAt(url)));
      assert.deepEqual([late.status, late.error], [402, 'payment_required']);
      const fourth = await fetchWithPayment(url);
      assert.equal(fourth.status, 200);
      assert.ok(fourth.headers.get('payment-response'));
      assert.equal(balance(), start + 2n * PRICE);
    });

    test('cross-host, expired, replayed, and testnet-on-mainnet proofs are refused by name', async () => {
      clock.offset = 0;
      const payer = stack.freshPayer();
      const url = `${seller.url}/data`;
      await wrapFetchWithPayment(fetch, payer.account, { apiUrl: stack.devnet.url })(url);

      // Replayed: good once, refused after.
      const proof = await proofOf(payer.account, await challengeAt(url));
      assert.equal((await signInWith(url, proof)).status, 200);
      const replay = await signInWith(url, proof);
      assert.deepEqual([replay.status, replay.error], [402, 'invalid_siwx_nonce_reused']);

      // Signed for another host (what a phishing page would show), sent with that host's name.
      const crossHost = await proofOf(payer.account, {
        ...(await challengeAt(url)),
        domain: 'evil.example',
      });
      const response = await fetch(url, {
        headers: { 'sign-in-with-x': encodeSiwxHeader(crossHost), host: 'evil.example' },
      });
      const refused = (await response.json()) as { error: string };
      assert.deepEqual([response.status, refused.error], [402, 'invalid_siwx_domain_mismatch']);

      // Expired: signed, then used after its challenge's five minutes.
      const stale = await proofOf(payer.account, await challengeAt(url));
      clock.offset = 300_000;
      const expired = await signInWith(url, stale);
      assert.deepEqual([expired.status, expired.error], [402, 'invalid_siwx_expired']);
      clock.offset = 0;

      // A testnet proof for the testnet seller, replayed at the same seller configured for mainnet.
      const testnetProof = await proofOf(payer.account, await challengeAt(url));
      const onMainnet = await signInWith(`${mainnetSeller.url}/data`, {
        ...testnetProof,
        domain: new URL(mainnetSeller.url).host,
        uri: `${mainnetSeller.url}/data`,
      });
      assert.deepEqual(
        [onMainnet.status, onMainnet.error],
        [402, 'invalid_siwx_unsupported_chain'],
      );
    });
  });
}
