/**
 * Coinbase's stock SDK with only our scheme registered, end to end on the devnet through our facilitator service
 * (which itself serves a stock `x402Facilitator`): stock `@x402/fetch` pays stock `@x402/express` in STX, sBTC
 * (upfront), sponsored STX and a `$` price; stock `@x402/hono` and `@x402/axios`; our `wrapFetchWithPayment` against
 * stock Express; stock fetch against our `paymentMiddleware`. Every payment is checked on the chain: the seller got
 * the price exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { x402Client as axiosX402Client, wrapAxiosWithPayment } from '@x402/axios';
import { type FacilitatorClient, HTTPFacilitatorClient } from '@x402/core/server';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import axios from 'axios';
import type { StacksAccount } from 'x402-stacks';
import { wrapFetchWithPayment as ourWrapFetch } from 'x402-stacks/fetch';
import {
  ExactStacksScheme,
  registerExactStacksScheme,
  stacksSpendControls,
} from 'x402-stacks/x402';
import { type Stack, startOurSeller, startStack, startStockSeller, TESTNET } from './x402-setup.js';

/** A stock `x402Client` paying from `account`, with the Stacks spend-control preset. */
function stockClient(stack: Stack, account: StacksAccount): x402Client {
  return x402Client.fromConfig({
    schemes: [
      { network: 'stacks:*', client: new ExactStacksScheme({ account, apiUrl: stack.devnet.url }) },
    ],
    spendControls: stacksSpendControls({ networks: ['testnet'] }),
  });
}

describe('stock @x402/* with the Stacks exact scheme', () => {
  let stack: Stack;
  let express5: { url: string; stop(): Promise<void> };
  let hono: { url: string; stop(): Promise<void> };
  before(async () => {
    stack = await startStack();
    express5 = await startStockSeller(stack, 'express');
    hono = await startStockSeller(stack, 'hono');
  });
  after(async () => {
    await express5.stop();
    await hono.stop();
    await stack.stop();
  });

  test('the facilitator service serves the x402Facilitator: concrete networks, the sponsor in extra and signers', async () => {
    const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
    assert.deepEqual(supported, {
      kinds: [
        {
          x402Version: 2,
          scheme: 'exact',
          network: 'stacks:2147483648',
          extra: { sponsor: stack.sponsor, feePayer: stack.sponsor },
        },
      ],
      extensions: ['bazaar', 'payment-identifier'],
      signers: { 'stacks:*': [stack.sponsor] },
    });
  });

  test('stock fetch → stock express: STX, the buyer pays price + fee once, the seller gets the price', async () => {
    const buyer = stack.buyer();
    const [buyerBefore, sellerBefore] = [stack.stx(buyer.address), stack.stx(stack.payTo)];
    const pay = wrapFetchWithPayment(fetch, stockClient(stack, buyer));
    const response = await pay(`${express5.url}/stx`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: 'premium', path: '/stx' });
    const receipt = decodePaymentResponseHeader(response.headers.get('payment-response')!);
    assert.equal(receipt.success, true);
    assert.equal(receipt.payer, buyer.address);
    assert.equal(receipt.network, 'stacks:2147483648');
    assert.equal(stack.stx(stack.payTo) - sellerBefore, 1000n);
    const spent = buyerBefore - stack.stx(buyer.address);
    assert.ok(spent > 1000n && spent <= 1000n + 100_000n, `spent ${spent}: the price and one fee`);
  });

  test('stock fetch → stock express: sBTC on the upfront flow, the seller gets 250 sats once', async () => {
    const buyer = stack.buyer();
    const [sbtcBefore, sellerBefore] = [stack.sbtc(buyer.address), stack.sbtc(stack.payTo)];
    const response = await wrapFetchWithPayment(
      fetch,
      stockClient(stack, buyer),
    )(`${express5.url}/sbtc`);
    assert.equal(response.status, 200);
    assert.equal(sbtcBefore - stack.sbtc(buyer.address), 250n);
    assert.equal(stack.sbtc(stack.payTo) - sellerBefore, 250n);
  });

  test('stock fetch → stock express: sponsored, the buyer pays exactly the price and the sponsor the fee', async () => {
    const buyer = stack.buyer();
    const [buyerBefore, sellerBefore, sponsorBefore] = [
      stack.stx(buyer.address),
      stack.stx(stack.payTo),
      stack.stx(stack.sponsor),
    ];
    const response = await wrapFetchWithPayment(
      fetch,
      stockClient(stack, buyer),
    )(`${express5.url}/sponsored`);
    assert.equal(response.status, 200);
    assert.equal(buyerBefore - stack.stx(buyer.address), 700n);
    assert.equal(stack.stx(stack.payTo) - sellerBefore, 700n);
    assert.ok(stack.stx(stack.sponsor) < sponsorBefore, 'the sponsor paid the fee');
  });

  test('stock fetch → stock express: a $0.01 price at $0.50 per STX is 20,000 µSTX', async () => {
    const buyer = stack.buyer();
    const sellerBefore = stack.stx(stack.payTo);
    const response = await wrapFetchWithPayment(
      fetch,
      stockClient(stack, buyer),
    )(`${express5.url}/usd`);
    assert.equal(response.status, 200);
    assert.equal(stack.stx(stack.payTo) - sellerBefore, 20_000n);
  });

  test('three payments in a row from one account use consecutive nonces, each paid once', async () => {
    const buyer = stack.buyer();
    const sellerBefore = stack.stx(stack.payTo);
    const pay = wrapFetchWithPayment(fetch, stockClient(stack, buyer));
    const statuses = await Promise.all(
      [1, 2, 3].map(() => pay(`${express5.url}/sponsored`).then((r) => r.status)),
    );
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(stack.stx(stack.payTo) - sellerBefore, 2_100n);
  });

  test('a stock client without the preset refuses STX before signing: nothing moves', async () => {
    const buyer = stack.buyer();
    const client = registerExactStacksScheme(new x402Client(), {
      account: buyer,
      apiUrl: stack.devnet.url,
    });
    const before = stack.stx(buyer.address);
    await assert.rejects(
      wrapFetchWithPayment(fetch, client)(`${express5.url}/stx`),
      /spendControls/,
    );
    assert.equal(stack.stx(buyer.address), before);
  });

  test('a spend-control cap below the price refuses it: nothing moves', async () => {
    const buyer = stack.buyer();
    const client = x402Client.fromConfig({
      schemes: [
        {
          network: 'stacks:*',
          client: new ExactStacksScheme({ account: buyer, apiUrl: stack.devnet.url }),
        },
      ],
      spendControls: stacksSpendControls({ networks: ['testnet'], maxAmount: { STX: 999n } }),
    });
    const before = stack.stx(buyer.address);
    await assert.rejects(wrapFetchWithPayment(fetch, client)(`${express5.url}/stx`));
    assert.equal(stack.stx(buyer.address), before);
  });

  test('stock fetch → stock hono: STX and sponsored', async () => {
    const buyer = stack.buyer();
    const sellerBefore = stack.stx(stack.payTo);
    const pay = wrapFetchWithPayment(fetch, stockClient(stack, buyer));
    assert.equal((await pay(`${hono.url}/stx`)).status, 200);
    assert.equal((await pay(`${hono.url}/sponsored`)).status, 200);
    assert.equal(stack.stx(stack.payTo) - sellerBefore, 1_700n);
  });

  test('stock @x402/axios → stock express: STX and sBTC', async () => {
    const buyer = stack.buyer();
    const [stxBefore, sbtcBefore] = [stack.stx(stack.payTo), stack.sbtc(stack.payTo)];
    // The override in package.json dedupes @x402/axios's core to ours, so one x402Client class serves both.
    const client = axiosX402Client.fromConfig({
      schemes: [
        {
          network: 'stacks:*',
          client: new ExactStacksScheme({ account: buyer, apiUrl: stack.devnet.url }),
        },
      ],
      spendControls: stacksSpendControls({ networks: ['testnet'] }),
    });
    const api = wrapAxiosWithPayment(axios.create({ baseURL: express5.url }), client);
    assert.equal((await api.get('/stx')).status, 200);
    assert.equal((await api.get('/sbtc')).status, 200);
    assert.equal(stack.stx(stack.payTo) - stxBefore, 1000n);
    assert.equal(stack.sbtc(stack.payTo) - sbtcBefore, 250n);
  });

  test('our wrapFetchWithPayment → stock express: STX, sBTC and sponsored', async () => {
    const buyer = stack.buyer();
    const [stxBefore, sbtcBefore] = [stack.stx(stack.payTo), stack.sbtc(stack.payTo)];
    const pay = ourWrapFetch(fetch, buyer, { apiUrl: stack.devnet.url });
    for (const path of ['/stx', '/sbtc', '/sponsored']) {
      const response = await pay(`${express5.url}${path}`);
      assert.equal(response.status, 200, path);
    }
    assert.equal(stack.stx(stack.payTo) - stxBefore, 1_700n);
    assert.equal(stack.sbtc(stack.payTo) - sbtcBefore, 250n);
  });

  test('stock fetch → our paymentMiddleware: STX and sponsored', async () => {
    const seller = await startOurSeller(stack);
    const url = seller.url;
    try {
      const buyer = stack.buyer();
      const [buyerBefore, sellerBefore] = [stack.stx(buyer.address), stack.stx(stack.payTo)];
      const pay = wrapFetchWithPayment(fetch, stockClient(stack, buyer));
      const paid = await pay(`${url}/stx`);
      assert.equal(paid.status, 200);
      assert.equal(
        decodePaymentResponseHeader(paid.headers.get('payment-response')!).success,
        true,
      );
      const sponsored = await pay(`${url}/sponsored`);
      assert.equal(sponsored.status, 200);
      assert.equal(stack.stx(stack.payTo) - sellerBefore, 1_700n);
      const spent = buyerBefore - stack.stx(buyer.address);
      assert.ok(
        spent > 1_700n && spent <= 1_700n + 100_000n,
        `spent ${spent}: both prices and one fee`,
      );
    } finally {
      await seller.close();
    }
  });

  test('a refused payment ends its nonce turn at once: the next payment takes the same nonce and is paid once', async () => {
    // The real facilitator, except that the first verify is refused (as for a payer blocked by the facilitator).
    const http = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    let refusals = 1;
    const refusing: FacilitatorClient = {
      verify: async (payload, requirements) =>
        refusals-- > 0
          ? { isValid: false, invalidReason: 'insufficient_funds' }
          : http.verify(payload, requirements),
      settle: (payload, requirements) => http.settle(payload, requirements),
      getSupported: () => http.getSupported(),
    };
    const seller = await startStockSeller(stack, 'express', refusing);
    try {
      const buyer = stack.buyer();
      const sellerBefore = stack.stx(stack.payTo);
      const client = x402Client.fromConfig({
        schemes: [
          {
            network: 'stacks:*',
            client: new ExactStacksScheme({
              account: buyer,
              apiUrl: stack.devnet.url,
              responseTimeoutMs: 30_000,
            }),
          },
        ],
        spendControls: stacksSpendControls({ networks: ['testnet'] }),
      });
      const pay = wrapFetchWithPayment(fetch, client);
      assert.equal((await pay(`${seller.url}/stx`)).status, 402);
      assert.equal(stack.stx(stack.payTo), sellerBefore);
      const began = performance.now();
      assert.equal((await pay(`${seller.url}/stx`)).status, 200);
      assert.ok(performance.now() - began < 10_000, 'the refused payment did not hold the turn');
      assert.equal(stack.stx(stack.payTo) - sellerBefore, 1000n);
    } finally {
      await seller.stop();
    }
  });

  test('a payment whose outcome is never reported frees the turn after responseTimeoutMs', async () => {
    const offer = {
      scheme: 'exact',
      network: TESTNET,
      asset: 'STX',
      amount: '1000',
      payTo: stack.payTo,
      maxTimeoutSeconds: 60,
      extra: {},
    } as const;
    const scheme = new ExactStacksScheme({
      account: stack.buyer(),
      apiUrl: stack.devnet.url,
      responseTimeoutMs: 300,
    });
    // Outside x402Client no hook reports anything, and nothing is broadcast: the second waits for the timeout.
    const first = await scheme.createPaymentPayload(2, offer);
    const began = performance.now();
    const second = await scheme.createPaymentPayload(2, offer);
    assert.ok(
      performance.now() - began >= 250,
      'the second payment waited for the first one’s turn',
    );
    // The chain decided the second nonce: the first was never sent, so both sign the same nonce.
    assert.equal(
      nonceOf(second.payload.transaction as string),
      nonceOf(first.payload.transaction as string),
    );
  });
});

/** The origin nonce of a serialized standard transaction: version, chain id, auth type, hash mode, signer. */
function nonceOf(hex: string): bigint {
  const offset = (1 + 4 + 1 + 1 + 20) * 2;
  return BigInt(`0x${hex.slice(offset, offset + 16)}`);
}
