/**
 * The buyer end to end against the library's own Express `paymentMiddleware`, which settles through the real
 * facilitator over HTTP on a devnet: both wrappers pay STX, sBTC and sponsored payments; both settle orders; the
 * v1-alias configuration; the fee's floor and cap; 20 parallel payments from one account. And a v1 server (the test
 * seller), for X-PAYMENT and X-PAYMENT-RESPONSE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import axios from 'axios';
import {
  decodePaymentResponse,
  decodeXPaymentResponse,
  type StacksAccount,
  withPaymentInterceptor,
} from 'x402-stacks';
import { type PaymentOptions, type PaymentReceipt, wrapAxiosWithPayment } from 'x402-stacks/axios';
import { createChainClient } from 'x402-stacks/chain';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { requirement, type Stack, startStack } from './client-stack.js';

/** The two wrappers behind one signature: GET a path, answer the status, body and receipt header. */
type Get = (path: string) => Promise<{ status: number; data: unknown; receipt: string | null }>;
const wrappers: Record<
  string,
  (stack: Stack, account: StacksAccount, options?: PaymentOptions) => Get
> = {
  fetch: (stack, account, options) => {
    const pay = wrapFetchWithPayment(fetch, account, { apiUrl: stack.devnet.url, ...options });
    return async (path) => {
      const response = await pay(`${stack.middlewareUrl}${path}`);
      return {
        status: response.status,
        data: await response.json(),
        receipt: response.headers.get('payment-response'),
      };
    };
  },
  axios: (stack, account, options) => {
    const api = wrapAxiosWithPayment(axios.create({ baseURL: stack.middlewareUrl }), account, {
      apiUrl: stack.devnet.url,
      ...options,
    });
    return async (path) => {
      const response = await api.get(path);
      return {
        status: response.status,
        data: response.data,
        receipt: (response.headers['payment-response'] as string | undefined) ?? null,
      };
    };
  },
};

describe('buyer payments against the devnet and the facilitator', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  for (const [name, wrap] of Object.entries(wrappers)) {
    test(`${name}: STX is paid once; the buyer spends the price plus a fee of the node's rate × size, floor 300`, async () => {
      const buyer = stack.buyer();
      const settled: PaymentReceipt[] = [];
      const get = wrap(stack, buyer, { onPaymentSettled: (receipt) => settled.push(receipt) });
      const [buyerBefore, sellerBefore] = [stack.stx(buyer.address), stack.stx(stack.payTo)];
      const response = await get('/stx');
      assert.equal(response.status, 200);
      const receipt = decodePaymentResponse(response.receipt);
      assert.deepEqual(response.data, { data: 'premium', transaction: receipt?.transaction });
      assert.equal(receipt?.success, true);
      assert.equal(receipt?.payer, buyer.address);
      assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
      assert.equal(stack.stx(buyer.address), buyerBefore - 1000n - 300n);
      assert.equal(settled.length, 1);
      assert.equal(settled[0]!.txid, receipt?.transaction);
      assert.equal(settled[0]!.fee, 300n);
      assert.equal(settled[0]!.amount, 1000n);
    });

    test(`${name}: sBTC moves the token exactly and STX only by the fee`, async () => {
      const buyer = stack.buyer();
      const get = wrap(stack, buyer);
      const [tokenBefore, stxBefore] = [stack.sbtc(buyer.address), stack.stx(buyer.address)];
      const sellerBefore = stack.sbtc(stack.payTo);
      const response = await get('/sbtc');
      assert.equal(response.status, 200);
      assert.equal(stack.sbtc(buyer.address), tokenBefore - 250n);
      assert.equal(stack.sbtc(stack.payTo), sellerBefore + 250n);
      const fee = stxBefore - stack.stx(buyer.address);
      assert.ok(fee >= 300n && fee < 1000n, `fee ${fee}`);
    });

    test(`${name}: a sponsored offer is paid with fee 0; the sponsor pays the fee`, async () => {
      const buyer = stack.buyer();
      const get = wrap(stack, buyer);
      const [buyerBefore, sponsorBefore] = [stack.stx(buyer.address), stack.stx(stack.sponsor)];
      const response = await get('/sponsored');
      assert.equal(response.status, 200);
      assert.equal(stack.stx(buyer.address), buyerBefore - 700n);
      assert.ok(stack.stx(stack.sponsor) < sponsorBefore);
      const receipt = decodePaymentResponse(response.receipt);
      const onChain = await createChainClient({
        network: 'testnet',
        url: stack.devnet.url,
      }).getTransaction(receipt!.transaction);
      assert.equal(onChain?.indexed && onChain.sponsor, stack.sponsor);
    });
  }

  test('the quickstart as documented: no options, the chain API from STACKS_API_URL only', async () => {
    const previous = process.env.STACKS_API_URL;
    process.env.STACKS_API_URL = stack.devnet.url;
    try {
      const account = stack.buyer();
      const api = wrapAxiosWithPayment(
        axios.create({ baseURL: stack.middlewareUrl, timeout: 60000 }),
        account,
      );
      const response = await api.get('/stx');
      const paymentResponse = decodePaymentResponse(response.headers['payment-response']);
      assert.equal(paymentResponse?.payer, account.address);
      assert.deepEqual(response.data, {
        data: 'premium',
        transaction: paymentResponse?.transaction,
      });
    } finally {
      if (previous === undefined) delete process.env.STACKS_API_URL;
      else process.env.STACKS_API_URL = previous;
    }
  });

  test('the fee is the rate × size, at least the floor and at most the cap', async () => {
    for (const [options, fee] of [
      [{ feeRate: 2n }, 360n], // 180 bytes × 2 is above the floor of 300
      [{ feeRate: 1_000n, maxFee: 50_000n }, 50_000n], // 180,000 is cut to the cap
      [{ minFee: 1_000n }, 1_000n], // the node's rate of 1 gives 180, raised to the floor
    ] as const) {
      const buyer = stack.buyer();
      const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url, ...options });
      const before = stack.stx(buyer.address);
      assert.equal((await pay(`${stack.middlewareUrl}/stx`)).status, 200);
      assert.equal(before - stack.stx(buyer.address), 1000n + fee, `fee ${fee}`);
    }
  });

  for (const [path, what] of [
    ['/after', "settle 'after-handler': verified, served, then settled"],
    ['/v1-alias', 'a v2 client against a route configured with the v1 alias x402PaymentRequired'],
  ] as const) {
    test(`${what}: paid once`, async () => {
      const buyer = stack.buyer();
      const get = wrappers.axios!(stack, buyer);
      const sellerBefore = stack.stx(stack.payTo);
      const response = await get(path);
      assert.equal(response.status, 200);
      assert.equal(decodePaymentResponse(response.receipt)?.success, true);
      assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
    });
  }

  test('20 parallel paid requests from one buyer all succeed, with consecutive nonces on chain', async () => {
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url });
    const sellerBefore = stack.stx(stack.payTo);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => pay(`${stack.middlewareUrl}/stx`)),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      Array(20).fill(200),
    );
    const chain = createChainClient({ network: 'testnet', url: stack.devnet.url });
    const nonces = await Promise.all(
      responses.map(async (response) => {
        const txid = decodePaymentResponse(response.headers.get('payment-response'))!.transaction;
        const tx = await chain.getTransaction(txid);
        assert.equal(tx?.status, 'success');
        return tx?.indexed ? tx.nonce : -1n;
      }),
    );
    assert.deepEqual(
      nonces.sort((a, b) => (a < b ? -1 : 1)),
      Array.from({ length: 20 }, (_, index) => BigInt(index)),
    );
    assert.equal(stack.stx(stack.payTo), sellerBefore + 20_000n);
    assert.equal(await chain.getNextNonce(buyer.address), 20n);
  });

  test('a payment in the mempool passes the turn on: three parallel payments are mined in one block', async () => {
    const buyer = stack.buyer();
    const pay = wrapFetchWithPayment(fetch, buyer, { apiUrl: stack.devnet.url, nonceWatchMs: 20 });
    const inMempool = () =>
      stack.devnet.chain.mempool.filter((record) => record.admitted.origin === buyer.address)
        .length;
    stack.devnet.chain.stall(true);
    const responses = Promise.all([1, 2, 3].map(() => pay(`${stack.middlewareUrl}/stx`)));
    // Mining is stalled, so the first settle is still waiting for its block when the other two go out.
    const deadline = Date.now() + 1_200;
    while (inMempool() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(inMempool(), 3);
    stack.devnet.chain.stall(false);
    const [block] = stack.devnet.mine(1);
    const settled = await responses;
    assert.deepEqual(
      settled.map((response) => response.status),
      [200, 200, 200],
    );
    assert.equal(block?.txids.length, 3);
  });

  test('v1 server: the 402 body is read, X-PAYMENT is sent, X-PAYMENT-RESPONSE comes back', async () => {
    stack.route('/v1', {
      version: 1,
      accepts: [requirement({ payTo: stack.payTo, amount: '1500' })],
    });
    const buyer = stack.buyer();
    const api = withPaymentInterceptor(axios.create({ baseURL: stack.sellerUrl }), buyer, {
      apiUrl: stack.devnet.url,
    });
    const sellerBefore = stack.stx(stack.payTo);
    const response = await api.get('/v1');
    assert.equal(response.status, 200);
    assert.deepEqual(response.data, { data: 'premium v1' });
    const receipt = decodeXPaymentResponse(response.headers['x-payment-response']);
    assert.equal(receipt?.sender, buyer.address);
    assert.equal(receipt?.amount, '1500');
    assert.equal(stack.stx(stack.payTo), sellerBefore + 1500n);
    assert.deepEqual(stack.hits('/v1'), { requests: 2, paid: 1 });
  });
});
