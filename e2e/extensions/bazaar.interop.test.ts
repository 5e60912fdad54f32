/**
 * The bazaar extension against stock `@x402/extensions` 2.27: its declare helper's envelopes parse with our checks and
 * go through our seller's `discovery` option; our envelopes pass its JSON Schema validator and spec checks; its
 * facilitator-side extraction reads our seller's 402; and its `withBazaar(…).listResources()` client reads our
 * facilitator's discovery list over HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { HTTPFacilitatorClient } from '@x402/core/server';
import {
  declareDiscoveryExtension,
  extractDiscoveryInfo,
  validateDiscoveryExtension,
  validateDiscoveryExtensionSpec,
  withBazaar,
} from '@x402/extensions/bazaar';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import { createFacilitator, type PaymentRequirements } from 'x402-stacks';
import {
  checkBazaarDeclaration,
  DiscoveryListResponseSchema,
  declareBazaar,
  discoveryEntryOf,
  methodOf,
  toolOf,
} from 'x402-stacks/extensions';
import { InMemoryDiscoveryCatalog } from 'x402-stacks/facilitator';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { createResourceServer } from 'x402-stacks/server';

const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const requirements: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: SELLER,
  maxTimeoutSeconds: 300,
};
const noFacilitator = {
  verify: async () => ({ isValid: false }),
  settle: async () => ({ success: false, transaction: '', network: 'stacks:2147483648' as const }),
  status: async () => undefined,
  supported: () => ({ kinds: [], extensions: [], signers: {} }),
};

describe('stock declarations → ours', () => {
  const stock = {
    query: declareDiscoveryExtension({
      input: { city: 'Paris' },
      inputSchema: { properties: { city: { type: 'string' } }, required: ['city'] },
      output: {
        example: { temperature: 21 },
        schema: { properties: { temperature: { type: 'number' } } },
      },
    }).bazaar,
    body: declareDiscoveryExtension({
      bodyType: 'json',
      input: { q: 'weather' },
      inputSchema: { properties: { q: { type: 'string' } } },
    }).bazaar,
    methodless: declareDiscoveryExtension({ input: { city: 'Paris' } }).bazaar,
    mcp: declareDiscoveryExtension({
      toolName: 'forecast',
      description: 'A forecast',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
    }).bazaar,
  };

  test('each parses with our check, and yields a catalog entry with its method or tool (stock leaves the method to the server: GET for a query, POST for a body)', () => {
    const expected = {
      query: 'http GET',
      body: 'http POST',
      methodless: 'http GET',
      mcp: 'mcp forecast',
    };
    for (const [name, envelope] of Object.entries(stock)) {
      const checked = checkBazaarDeclaration(envelope);
      assert.equal(checked.ok, true, `${name}: ${JSON.stringify(checked)}`);
      if (!checked.ok) continue;
      const info = checked.declaration.info;
      assert.equal(
        `${info.input.type} ${methodOf(info) ?? toolOf(info)}`,
        expected[name as keyof typeof expected],
      );
      const found = discoveryEntryOf(
        { resource: { url: 'https://api.example/weather' }, extensions: { bazaar: envelope } },
        requirements,
      );
      assert.equal(found.status, 'entry', name);
    }
  });

  test("a stock envelope given to our seller's discovery option is sent in the 402 unchanged", async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      sponsored: false,
      facilitator: noFacilitator,
      discovery: stock.body as unknown as {
        info: Record<string, unknown>;
        schema: Record<string, unknown>;
      },
    });
    const admission = await server.admit({
      url: 'http://seller.test/search',
      header: () => undefined,
      request: null,
    });
    if (admission.action !== 'reply') return assert.fail('expected a 402');
    const challenge = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
    assert.deepEqual(challenge.extensions?.bazaar, stock.body);
  });
});

describe('our declarations → stock', () => {
  const ours = {
    query: declareBazaar({
      method: 'GET',
      input: {
        example: { city: 'Paris' },
        schema: { properties: { city: { type: 'string' } }, required: ['city'] },
      },
      output: {
        example: { temperature: 21 },
        schema: { properties: { temperature: { type: 'number' } } },
      },
    }),
    body: declareBazaar({
      method: 'PUT',
      bodyType: 'form-data',
      input: { example: { name: 'x' } },
    }),
    headers: declareBazaar({ headers: { 'x-api-version': '2' } }),
  };

  test('each passes the stock JSON Schema validator and spec check', () => {
    for (const [name, envelope] of Object.entries(ours)) {
      assert.deepEqual(validateDiscoveryExtension(envelope as never), { valid: true }, name);
      assert.deepEqual(validateDiscoveryExtensionSpec(envelope as never), { valid: true }, name);
    }
  });

  test("the stock facilitator extraction reads our seller's 402 as a buyer would echo it", async () => {
    const server = createResourceServer({
      amount: '1000',
      payTo: SELLER,
      network: 'testnet',
      sponsored: false,
      description: 'Weather',
      facilitator: noFacilitator,
      discovery: {
        method: 'GET',
        input: { example: { city: 'Paris' } },
        output: { example: { t: 21 } },
      },
    });
    const admission = await server.admit({
      url: 'http://seller.test/weather?city=Paris',
      header: () => undefined,
      request: null,
    });
    if (admission.action !== 'reply') return assert.fail('expected a 402');
    const challenge = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
    const accepted = challenge.accepts[0]!;
    const extracted = extractDiscoveryInfo(
      {
        x402Version: 2,
        resource: challenge.resource,
        accepted,
        payload: { transaction: '00' },
        extensions: challenge.extensions ?? {},
      } as never,
      accepted as never,
    );
    assert.equal(extracted?.resourceUrl, 'http://seller.test/weather');
    assert.equal((extracted as { method?: string } | null)?.method, 'GET');
    assert.equal(extracted?.description, 'Weather');
  });
});

describe("stock withBazaar client → our facilitator's discovery list", () => {
  let url: string;
  let server: ReturnType<typeof serve>;
  before(async () => {
    const catalog = new InMemoryDiscoveryCatalog();
    for (const path of ['/a', '/b', '/c']) {
      const found = discoveryEntryOf(
        {
          resource: { url: `https://api.example${path}` },
          extensions: { bazaar: declareBazaar({ output: { example: {} } }) },
        },
        requirements,
      );
      if (found.status === 'entry')
        await catalog.record(
          found.entry,
          'ab'.repeat(32),
          { maxPerPayTo: 10, maxTotal: 10 },
          Date.now(),
        );
    }
    const facilitator = createFacilitator({
      networks: { testnet: { url: 'http://127.0.0.1:9' } },
      discovery: { catalog },
    });
    const app = createFacilitatorApp({ facilitator });
    server = await new Promise((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started),
      );
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('listResources pages and filters; every item is a valid stock bazaar envelope', async () => {
    const client = withBazaar(new HTTPFacilitatorClient({ url }));
    const page = await client.extensions.bazaar.listResources({
      type: 'http',
      limit: 2,
      offset: 0,
      payTo: SELLER,
    });
    assert.ok(DiscoveryListResponseSchema.safeParse(page).success);
    assert.deepEqual(page.pagination, { limit: 2, offset: 0, total: 3 });
    assert.equal(page.items.length, 2);
    for (const item of page.items) {
      assert.deepEqual(item.accepts, [requirements]);
      assert.deepEqual(validateDiscoveryExtension(item.extensions?.bazaar as never), {
        valid: true,
      });
    }
    const empty = await client.extensions.bazaar.listResources({ network: 'eip155:8453' });
    assert.equal(empty.pagination.total, 0);
  });

  test('/supported names bazaar (beside payment-identifier: its default ledger binds payment ids)', async () => {
    const supported = (await (await fetch(`${url}/supported`)).json()) as { extensions: string[] };
    assert.deepEqual(supported.extensions, ['bazaar', 'payment-identifier']);
  });
});
