/**
 * Sellers running the incumbent x402-stacks@2 (the real npm package) with its `facilitatorUrl` pointing at our
 * facilitator service, all over HTTP on 127.0.0.1 against the devnet:
 * - its v2 `paymentMiddleware`, paid by our `wrapAxiosWithPayment`, in each asset spelling it emits (`STX`, `SBTC`,
 *   a contract id, and a contract id with `::asset`, which its own client cannot pay); it calls our `POST /settle`;
 * - its v1 `paymentMiddlewareV1`, paid by its own `withPaymentInterceptor` and by ours; it calls our
 *   `POST /api/v1/settle` with its snake_case body and needs `status: 'confirmed'` back.
 * Each payment moves the balances exactly once, and its replay is refused by our facilitator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AxiosInstance } from 'axios';
import type { Request, Response } from 'express';
import { decodePaymentResponse } from 'x402-stacks';
import { wrapAxiosWithPayment } from 'x402-stacks/axios';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import * as incumbent from 'x402-stacks-v2';
import {
  express4,
  INCUMBENT_TOKENS,
  type IncumbentStack,
  recordingAxios,
  replay as replayAt,
  SBTC_ID,
  startIncumbentStack,
} from './incumbent-stack.js';

const [SBTC_ADDRESS, SBTC_NAME] = SBTC_ID.split('::')[0]!.split('.') as [string, string];

let stack: IncumbentStack;
let base: string;

before(async () => {
  stack = await startIncumbentStack();
  const common = {
    payTo: stack.seller,
    network: 'testnet',
    facilitatorUrl: stack.facilitatorUrl,
  } as const;
  const v1 = {
    address: stack.seller,
    network: 'testnet',
    facilitatorUrl: stack.facilitatorUrl,
  } as const;
  const app = express4();
  // Its v1 `req.payment` holds bigints, which JSON cannot carry; the content is what the tests look for.
  const serve = (_req: Request, res: Response) => res.json({ content: 'secret' });
  app.get('/stx', incumbent.paymentMiddleware({ ...common, amount: '1000' }), serve);
  app.get(
    '/sbtc',
    incumbent.paymentMiddleware({ ...common, amount: '250', tokenType: 'sBTC' }),
    serve,
  );
  app.get(
    '/sbtc-contract',
    incumbent.paymentMiddleware({
      ...common,
      amount: '250',
      tokenType: 'sBTC',
      tokenContract: { address: SBTC_ADDRESS, name: SBTC_NAME },
    }),
    serve,
  );
  app.get(
    '/sbtc-asset',
    incumbent.paymentMiddleware({ ...common, amount: '250', asset: SBTC_ID }),
    serve,
  );
  app.get('/v1/stx', incumbent.paymentMiddlewareV1({ ...v1, amount: 1000n }), serve);
  app.get(
    '/v1/sbtc',
    incumbent.paymentMiddlewareV1({
      ...v1,
      amount: 250n,
      tokenType: 'sBTC',
      tokenContract: { address: SBTC_ADDRESS, name: SBTC_NAME },
    }),
    serve,
  );
  base = await stack.listen(app);
});
after(() => stack.stop());

const recording = () => recordingAxios(base);
const replay = (path: string, headers: Record<string, string>) =>
  replayAt(`${base}${path}`, headers);

describe('our wrapAxiosWithPayment against x402-stacks@2 paymentMiddleware settling through our facilitator', () => {
  for (const [path, asset, wire] of [
    ['/stx', 'STX', 'STX'],
    ['/sbtc', 'sBTC', 'SBTC'],
    ['/sbtc-contract', 'sBTC', `${SBTC_ADDRESS}.${SBTC_NAME}`],
    ['/sbtc-asset', 'sBTC', SBTC_ID],
  ] as const) {
    test(`${wire}: its 402 is read, paid once and served; a replay is refused`, async () => {
      const challenge = await fetch(`${base}${path}`);
      assert.equal(challenge.status, 402);
      const offered = JSON.parse(
        Buffer.from(challenge.headers.get('payment-required')!, 'base64').toString(),
      );
      assert.equal(offered.accepts[0].asset, wire);
      assert.equal(offered.accepts[0].extra, undefined, 'it sends no extra');

      const buyer = stack.buyer();
      const price = asset === 'STX' ? 1000n : 250n;
      const before = { seller: balance(asset, stack.seller), buyer: balance(asset, buyer.address) };
      const { api, sent } = recording();
      wrapAxiosWithPayment(api, buyer, { apiUrl: stack.devnet.url, tokens: INCUMBENT_TOKENS });

      const response = await api.get(path);
      assert.equal(response.status, 200);
      assert.equal(response.data.content, 'secret');
      const receipt = decodePaymentResponse(response.headers['payment-response']);
      assert.equal(receipt?.success, true);
      assert.equal(receipt?.payer, buyer.address);
      assert.equal(balance(asset, stack.seller), before.seller + price);
      if (asset === 'sBTC') assert.equal(balance(asset, buyer.address), before.buyer - price);
      assert.equal(stack.nonce(buyer.address), 1n, 'exactly one transaction from the buyer');
      assert.equal((await stack.engine.status(receipt!.transaction))?.state, 'success');

      assert.equal(sent.length, 1);
      const again = await replay(path, sent[0]!);
      assert.equal(again.status, 402);
      assert.match(JSON.parse(again.text).error, /duplicate_settlement|txid_reused/);
      assert.doesNotMatch(again.text, /secret/);
      assert.equal(balance(asset, stack.seller), before.seller + price);
    });
  }
});

describe('x402-stacks@2 withPaymentInterceptor against its paymentMiddlewareV1 settling through our /api/v1/settle', () => {
  for (const [path, asset] of [
    ['/v1/stx', 'STX'],
    ['/v1/sbtc', 'sBTC'],
  ] as const) {
    test(`${asset}: confirmed and served once, with the block height; a replay is refused`, async () => {
      const buyer = stack.buyer();
      const price = asset === 'STX' ? 1000n : 250n;
      const before = balance(asset, stack.seller);
      const { api, sent } = recording();
      incumbent.withPaymentInterceptor(
        theirs(api),
        incumbent.privateKeyToAccountV1(buyer.privateKey, 'testnet'),
      );

      const response = await api.get(path);
      assert.equal(response.status, 200);
      assert.equal(response.data.content, 'secret');
      const receipt = incumbent.decodeXPaymentResponse(response.headers['x-payment-response']);
      assert.equal(receipt?.status, 'success');
      assert.equal(typeof receipt?.blockHeight, 'number');
      assert.equal((await stack.engine.status(receipt!.txId))?.state, 'success');
      assert.equal(balance(asset, stack.seller), before + price);
      assert.equal(stack.nonce(buyer.address), 1n, 'exactly one transaction from the buyer');

      assert.equal(sent.length, 1);
      const again = await replay(path, sent[0]!);
      assert.equal(again.status, 402);
      assert.doesNotMatch(again.text, /secret/);
      assert.equal(balance(asset, stack.seller), before + price);
    });
  }
});

describe('our wrapAxiosWithPayment against x402-stacks@2 paymentMiddlewareV1 (its flat 402, raw hex X-PAYMENT)', () => {
  for (const [path, asset] of [
    ['/v1/stx', 'STX'],
    ['/v1/sbtc', 'sBTC'],
  ] as const) {
    test(`${asset}: paid once with the transaction hex, served; a replay is refused`, async () => {
      const buyer = stack.buyer();
      const price = asset === 'STX' ? 1000n : 250n;
      const before = balance(asset, stack.seller);
      const { api, sent } = recording();
      wrapAxiosWithPayment(api, buyer, { apiUrl: stack.devnet.url, tokens: INCUMBENT_TOKENS });

      const response = await api.get(path);
      assert.equal(response.status, 200);
      assert.equal(response.data.content, 'secret');
      assert.equal(balance(asset, stack.seller), before + price);
      assert.equal(stack.nonce(buyer.address), 1n, 'exactly one transaction from the buyer');
      assert.equal(sent.length, 1);
      assert.match(Object.values(sent[0]!)[0]!, /^[0-9a-f]+$/, 'raw transaction hex');

      const again = await replay(path, sent[0]!);
      assert.equal(again.status, 402);
      assert.doesNotMatch(again.text, /secret/);
      assert.equal(balance(asset, stack.seller), before + price);
    });
  }
});

describe('our /api/v1/settle and /api/v1/verify: x402 v1 and x402-stacks 1.x told apart by body shape', () => {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${stack.facilitatorUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test('a body of neither shape is 400 unrecognized_request; a broken one of either is 400 invalid_request', async () => {
    for (const path of ['/api/v1/settle', '/api/v1/verify']) {
      for (const body of [{}, [], 'text', { transaction: 'ab' }]) {
        const answer = await post(path, body);
        assert.equal(answer.status, 400, `${path} ${JSON.stringify(body)}`);
        assert.equal(answer.body.error, 'unrecognized_request');
      }
      const x402 = await post(path, { x402Version: 1 });
      assert.deepEqual([x402.status, x402.body.error], [400, 'invalid_request']);
      assert.match(JSON.stringify(x402.body.details), /paymentPayload/);
    }
    const legacy = await post('/api/v1/settle', { signed_transaction: 'zz', min_amount: 1.5 });
    assert.deepEqual([legacy.status, legacy.body.error], [400, 'invalid_request']);
    assert.match(
      JSON.stringify(legacy.body.details),
      /signed_transaction.*min_amount|min_amount.*signed_transaction/,
    );
  });

  test('x402-stacks 1.x: expected_sender is checked before anything is broadcast; the txid path is refused', async () => {
    const buyer = stack.buyer();
    const payment = await createPaymentTransaction({
      account: buyer,
      requirements: {
        scheme: 'exact',
        network: 'stacks:2147483648',
        amount: '1000',
        asset: 'STX',
        payTo: stack.seller,
        maxTimeoutSeconds: 300,
      },
      nonce: 0n,
      fee: 400n,
    });
    const terms = {
      expected_recipient: stack.seller,
      min_amount: 1000,
      network: 'testnet',
      token_type: 'STX',
    };
    const other = await post('/api/v1/settle', {
      ...terms,
      signed_transaction: payment.transaction,
      expected_sender: stack.seller,
    });
    assert.equal(other.status, 200);
    assert.deepEqual([other.body.success, other.body.status], [false, 'failed']);
    assert.equal(other.body.error, 'invalid_exact_stacks_payload_payer_mismatch');
    assert.equal(stack.nonce(buyer.address), 0n, 'nothing broadcast');

    const byTxid = await post('/api/v1/verify', { ...terms, tx_id: payment.txid });
    assert.equal(byTxid.status, 200);
    assert.deepEqual([byTxid.body.valid, byTxid.body.error], [false, 'invalid_payload']);
  });
});

// Its axios is pinned (1.15.2, nested under it), so the instance types differ; at runtime it only adds interceptors.
function theirs(api: AxiosInstance): Parameters<typeof incumbent.withPaymentInterceptor>[0] {
  return api as unknown as Parameters<typeof incumbent.withPaymentInterceptor>[0];
}

function balance(asset: 'STX' | 'sBTC', address: string): bigint {
  return asset === 'STX' ? stack.stx(address) : stack.sbtc(address);
}
