/**
 * The bazaar extension through the whole stack, on Express 5, Express 4 and Hono 4: a route declared with the
 * middleware's `discovery` option answers its 402 with `extensions.bazaar`; our fetch buyer pays it on the devnet
 * through the facilitator service; the facilitator then lists the route in `GET /discovery/resources`, once per
 * route however often it is paid.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DiscoveryListResponse, declareBazaar } from 'x402-stacks/extensions';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { FRAMEWORKS, type Stack, startSeller, startStack } from '../sellers/server-setup.js';

const discovery = {
  method: 'GET',
  input: { example: { city: 'Paris' }, schema: { properties: { city: { type: 'string' } } } },
  output: { example: { content: 'secret' } },
} as const;

let stack: Stack;
before(async () => {
  stack = await startStack(8);
});
after(async () => {
  await stack.stop();
});

test('declared on each framework, paid twice, listed once per route', {
  timeout: 120_000,
}, async () => {
  const payer = stack.freshPayer();
  const pay = wrapFetchWithPayment(fetch, payer.account, { apiUrl: stack.devnet.url });
  const resources: string[] = [];
  for (const framework of FRAMEWORKS) {
    const seller = await startSeller(framework, [
      {
        path: '/weather',
        options: {
          amount: '1000',
          payTo: stack.seller,
          network: 'testnet',
          facilitatorUrl: stack.facilitatorUrl,
          description: `Weather on ${framework}`,
          discovery,
        },
      },
    ]);
    try {
      const url = `${seller.url}/weather`;
      const unpaid = await fetch(`${url}?city=Paris`);
      assert.equal(unpaid.status, 402);
      const challenge = decodePaymentRequiredHeader(unpaid.headers.get('payment-required')!);
      assert.deepEqual(challenge.extensions?.bazaar, declareBazaar(discovery), framework);
      for (let i = 0; i < 2; i++) {
        const paid = await pay(`${url}?city=Paris`);
        assert.equal(paid.status, 200, framework);
        await paid.text();
      }
      resources.push(url);
    } finally {
      await seller.stop();
    }
  }
  const list = (await (
    await fetch(`${stack.facilitatorUrl}/discovery/resources?payTo=${stack.seller}`)
  ).json()) as DiscoveryListResponse;
  assert.equal(list.pagination.total, 3);
  assert.deepEqual(list.items.map((item) => item.resource).sort(), resources.sort());
  for (const item of list.items) {
    assert.deepEqual(item.extensions?.bazaar, declareBazaar(discovery));
    assert.match(item.description ?? '', /^Weather on /);
  }
});
