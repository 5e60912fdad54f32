/**
 * The incumbent x402-stacks@2 clients (the real npm package) paying our `paymentMiddleware`, which settles through
 * our facilitator service, all over HTTP on 127.0.0.1 against the devnet:
 * - its v2 `wrapAxiosWithPayment` (`payment-signature`), STX and sBTC;
 * - its v1 `withPaymentInterceptor` (the x402-stacks 1.x wire: flat 402 body, raw transaction hex in `X-PAYMENT`),
 *   against routes with `challengeBody: 'x402-stacks-v1'`.
 * Each payment moves the balances exactly once (one transaction from the buyer), and its replay is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import axios, { type AxiosInstance } from 'axios';
import type { Request, Response } from 'express';
import type { PaymentRequirements } from 'x402-stacks';
import { getPayment, paymentMiddleware } from 'x402-stacks/express';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import type { PaymentMiddlewareOptions } from 'x402-stacks/server';
import { createPaymentTransaction, resolveAsset } from 'x402-stacks/stacks';
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

let stack: IncumbentStack;
let base: string;

before(async () => {
  stack = await startIncumbentStack();
  const common = {
    payTo: stack.seller,
    network: 'testnet',
    facilitatorUrl: stack.facilitatorUrl,
    // 'sBTC' is the incumbent's testnet sBTC on these routes, the contract its clients pay.
    tokens: INCUMBENT_TOKENS,
  };
  const routes: Record<string, PaymentMiddlewareOptions<Request>> = {
    '/stx': { ...common, amount: '1000' },
    '/sbtc': { ...common, amount: '250', asset: 'sBTC' },
    '/v1/stx': { ...common, amount: '1000', challengeBody: 'x402-stacks-v1' },
    '/v1/sbtc': { ...common, amount: '250', asset: 'sBTC', challengeBody: 'x402-stacks-v1' },
  };
  const app = express4();
  for (const [path, options] of Object.entries(routes)) {
    app.get(path, paymentMiddleware(options), (req: Request, res: Response) => {
      res.json({ content: 'secret', payment: getPayment(req) });
    });
  }
  base = await stack.listen(app);
});
after(() => stack.stop());

const recording = () => recordingAxios(base);
const replay = (path: string, headers: Record<string, string>) =>
  replayAt(`${base}${path}`, headers);

describe('x402-stacks@2 wrapAxiosWithPayment (v2) against our paymentMiddleware and facilitator', () => {
  for (const [path, asset] of [
    ['/stx', 'STX'],
    ['/sbtc', 'sBTC'],
  ] as const) {
    test(`${asset}: paid once, served, the receipt reads with its decoder; a replay is refused`, async () => {
      const buyer = stack.buyer();
      const before = { seller: balance(asset, stack.seller), buyer: balance(asset, buyer.address) };
      const { api, sent } = recording();
      incumbent.wrapAxiosWithPayment(
        theirs(api),
        incumbent.privateKeyToAccount(buyer.privateKey, 'testnet'),
      );

      const response = await api.get(path);
      assert.equal(response.status, 200);
      assert.equal(response.data.content, 'secret');
      const receipt = incumbent.decodePaymentResponse(response.headers['payment-response']);
      assert.equal(receipt?.success, true);
      assert.equal(receipt?.payer, buyer.address);
      assert.equal(response.data.payment.transaction, receipt?.transaction);

      const price = asset === 'STX' ? 1000n : 250n;
      assert.equal(balance(asset, stack.seller), before.seller + price);
      const spent = before.buyer - balance(asset, buyer.address);
      // STX: the price plus the fee it chose from the (rerouted) fee estimate; sBTC: the price exactly.
      if (asset === 'STX') assert.ok(spent > price && spent < price + 10_000n, String(spent));
      else assert.equal(spent, price);
      assert.equal(stack.nonce(buyer.address), 1n, 'exactly one transaction from the buyer');
      assert.ok(stack.hiroCalls.includes(`GET /extended/v1/address/${buyer.address}/nonces`));

      assert.equal(sent.length, 1);
      const again = await replay(path, sent[0]!);
      assert.equal(again.status, 402);
      assert.equal(JSON.parse(again.text).error, 'duplicate_settlement');
      assert.doesNotMatch(again.text, /secret/);
      assert.equal(balance(asset, stack.seller), before.seller + price);
      assert.equal(stack.nonce(buyer.address), 1n);
    });
  }
});

describe('our paymentMiddleware reads every spelling of the incumbent and the draft Stacks spec', () => {
  async function offered(path: string): Promise<PaymentRequirements> {
    const response = await fetch(`${base}${path}`);
    return decodePaymentRequiredHeader(response.headers.get('payment-required')!).accepts[0]!;
  }

  async function pay(path: string, accepted: Partial<PaymentRequirements>, field = 'transaction') {
    const entry = await offered(path);
    const buyer = stack.buyer();
    // Our facilitator sponsors, so the offer names a sponsor: signed sponsored, as our own clients do.
    const payment = await createPaymentTransaction({
      account: buyer,
      requirements: entry,
      nonce: 0n,
      tokens: INCUMBENT_TOKENS,
    });
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: { ...entry, ...accepted },
      payload: { [field]: payment.transaction },
    });
    const answer = await replay(path, { 'payment-signature': header });
    return { ...answer, buyer };
  }

  for (const asset of ['SBTC', 'sbtc', 'sBTC', SBTC_ID]) {
    test(`accepted.asset '${asset}' pays the sBTC entry`, async () => {
      const before = stack.sbtc(stack.seller);
      const answer = await pay('/sbtc', { asset });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(stack.sbtc(stack.seller), before + 250n);
    });
  }

  test('an ::asset that is not the token’s asset name is refused, not guessed; nothing moves', async () => {
    const before = stack.sbtc(stack.seller);
    const answer = await pay('/sbtc', { asset: `${SBTC_ID.split('::')[0]}::other-token` });
    assert.equal(answer.status, 402);
    assert.equal(JSON.parse(answer.text).error, 'accepted_requirements_mismatch');
    assert.equal(stack.sbtc(stack.seller), before);
    assert.equal(stack.nonce(answer.buyer.address), 0n);
  });

  test('payload.signedTransaction (the draft Stacks spec) is read like payload.transaction', async () => {
    const before = stack.stx(stack.seller);
    const answer = await pay('/stx', {}, 'signedTransaction');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(stack.stx(stack.seller), before + 1000n);
  });
});

describe('x402-stacks@2 withPaymentInterceptor (its v1) against our paymentMiddleware', () => {
  for (const [path, asset] of [
    ['/v1/stx', 'STX'],
    ['/v1/sbtc', 'sBTC'],
  ] as const) {
    test(`${asset}: the flat 402 body is paid with raw hex in X-PAYMENT, once; a replay is refused`, async () => {
      const buyer = stack.buyer();
      const before = { seller: balance(asset, stack.seller), buyer: balance(asset, buyer.address) };
      const { api, sent } = recording();
      incumbent.withPaymentInterceptor(
        theirs(api),
        incumbent.privateKeyToAccountV1(buyer.privateKey, 'testnet'),
      );

      const response = await api.get(path);
      assert.equal(response.status, 200);
      assert.equal(response.data.content, 'secret');
      const receipt = incumbent.decodeXPaymentResponse(response.headers['x-payment-response']);
      assert.equal(receipt?.txId, response.data.payment.transaction);
      assert.equal(response.data.payment.x402Version, 1);

      const price = asset === 'STX' ? 1000n : 250n;
      assert.equal(balance(asset, stack.seller), before.seller + price);
      assert.equal(stack.nonce(buyer.address), 1n, 'exactly one transaction from the buyer');

      assert.equal(sent.length, 1);
      assert.match(sent[0]!['X-PAYMENT']!, /^[0-9a-f]+$/, 'raw transaction hex, not base64 JSON');
      const again = await replay(path, sent[0]!);
      assert.equal(again.status, 402);
      assert.doesNotMatch(again.text, /secret/);
      assert.equal(balance(asset, stack.seller), before.seller + price);
    });
  }

  test('the 402 body is the flat x402-stacks 1.x request; the payment-required header stays the v2 challenge', async () => {
    const response = await fetch(`${base}/v1/sbtc`);
    assert.equal(response.status, 402);
    const body = (await response.json()) as Record<string, unknown>;
    const contract = resolveAsset('sBTC', 'testnet', INCUMBENT_TOKENS);
    assert.equal(body.maxAmountRequired, '250');
    assert.equal(body.network, 'testnet');
    assert.equal(body.tokenType, 'sBTC');
    assert.deepEqual(body.tokenContract, {
      address: contract.kind === 'sip010' ? contract.contractAddress : '',
      name: 'sbtc-token',
    });
    assert.ok(Date.parse(String(body.expiresAt)) > Date.now());
    const header = JSON.parse(
      Buffer.from(response.headers.get('payment-required')!, 'base64').toString(),
    );
    assert.equal(header.x402Version, 2);
    assert.equal(header.accepts[0].amount, '250');
  });

  test('its X-PAYMENT-TOKEN-TYPE never picks the asset: an STX transfer for the sBTC price is refused, nothing moves', async () => {
    const buyer = stack.buyer();
    const payment = await createPaymentTransaction({
      account: buyer,
      requirements: {
        scheme: 'exact',
        network: 'stacks:2147483648',
        amount: '250',
        asset: 'STX',
        payTo: stack.seller,
        maxTimeoutSeconds: 300,
      },
      nonce: 0n,
      fee: 400n,
    });
    const before = stack.stx(stack.seller);
    const answer = await replay('/v1/sbtc', {
      'X-PAYMENT': payment.transaction,
      'X-PAYMENT-TOKEN-TYPE': 'STX',
    });
    assert.equal(answer.status, 402);
    assert.doesNotMatch(answer.text, /secret/);
    assert.equal(stack.stx(stack.seller), before);
    assert.equal(stack.nonce(buyer.address), 0n);
  });

  test('without the opt-in, its v1 client cannot read our v2 402 body and pays nothing', async () => {
    const buyer = stack.buyer();
    const api = incumbent.withPaymentInterceptor(
      theirs(axios.create({ baseURL: base })),
      incumbent.privateKeyToAccountV1(buyer.privateKey, 'testnet'),
    );
    await assert.rejects(api.get('/stx'), /Invalid x402 payment request/);
    assert.equal(stack.nonce(buyer.address), 0n);
  });
});

// Its axios is pinned (1.15.2, nested under it), so the instance types differ; at runtime it only adds interceptors.
function theirs(api: AxiosInstance): Parameters<typeof incumbent.wrapAxiosWithPayment>[0] {
  return api as unknown as Parameters<typeof incumbent.wrapAxiosWithPayment>[0];
}

function balance(asset: 'STX' | 'sBTC', address: string): bigint {
  return asset === 'STX' ? stack.stx(address) : stack.sbtc(address);
}
