/**
 * Importing a facilitator's bazaar discovery list: every named resource is probed and validated like a submission
 * before it is listed, the list itself is read through the SSRF-safe probe and validated, and the import is bounded.
 * Real HTTP on 127.0.0.1 (the probe in local mode), a real SQLite store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { declareBazaar } from 'x402-stacks/extensions';
import {
  createRegistry,
  createSafeFetcher,
  DiscoveryImportError,
  importDiscoveryList,
} from '../src/index.js';
import { jsonAnswer, startSeller, TESTNET_PAY_TO, v2Answer, v2Challenge } from './fixtures.js';
import { fakeClock, tempSqliteStore } from './helpers.js';

const bazaar = declareBazaar({
  method: 'GET',
  input: { example: { symbol: 'BTC' }, schema: { properties: { symbol: { type: 'string' } } } },
  output: { example: { price: '1' } },
});

function item(resource: string, type = 'http') {
  return {
    resource,
    type,
    x402Version: 2,
    accepts: [
      {
        scheme: 'exact',
        network: 'stacks:2147483648',
        amount: '1',
        asset: 'STX',
        payTo: TESTNET_PAY_TO,
        maxTimeoutSeconds: 60,
      },
    ],
    lastUpdated: new Date(0).toISOString(),
    extensions: { bazaar },
  };
}

describe('importDiscoveryList', () => {
  let seller: Awaited<ReturnType<typeof startSeller>>;
  let store: Awaited<ReturnType<typeof tempSqliteStore>>;
  const fetcher = createSafeFetcher({ allowInsecureLocal: true });

  before(async () => {
    store = await tempSqliteStore();
    seller = await startSeller((path) => {
      const base = seller.url;
      if (path === '/quotes')
        return v2Answer({ ...v2Challenge(`${base}/quotes`), extensions: { bazaar } });
      if (path === '/free') return jsonAnswer({ hello: 'world' }, 200);
      if (path === '/discovery/resources')
        return jsonAnswer(
          {
            x402Version: 2,
            items: [
              item(`${base}/quotes`),
              item(`${base}/quotes`),
              item(`${base}/free`),
              item(`${base}/users/:id`),
              item(`${base}/mcp`, 'mcp'),
            ],
            pagination: { limit: 50, offset: 0, total: 5 },
          },
          200,
        );
      if (path === '/junk/discovery/resources') return jsonAnswer({ items: 'none' }, 200);
      if (path === '/down/discovery/resources') return jsonAnswer({ error: 'x' }, 500);
      return undefined;
    });
  });
  after(async () => {
    await seller.stop();
    await store.close();
  });

  const registry = () =>
    createRegistry({ store: store.store, fetcher, clock: fakeClock(), allowInsecureLocal: true });

  test('each resource is probed before it is listed; only those whose own 402 passes are listed', async () => {
    const report = await importDiscoveryList(registry(), fetcher, seller.url);
    assert.equal(report.read, 3, 'the duplicate and the MCP item are not leads');
    assert.deepEqual(report.listed, [`${seller.url}/quotes`]);
    assert.deepEqual(report.refused, [
      { resource: `${seller.url}/free`, reason: 'invalid_version' }, // a free page is no x402 document
      { resource: `${seller.url}/users/:id`, reason: 'route_template' },
    ]);
    assert.equal(seller.hits.get('GET /quotes'), 1, 'probed once');
    const page = await store.store.page({ statuses: ['pending', 'active'] }, 10, 0);
    assert.equal(page.total, 1);
    assert.deepEqual(page.items[0]!.listing.schema, bazaar.schema);
  });

  test('the import is bounded by maxResources', async () => {
    const report = await importDiscoveryList(registry(), fetcher, seller.url, { maxResources: 1 });
    assert.equal(report.read, 1);
  });

  test('a stop (the signal aborted) ends the import between two registrations, reporting what it did', async () => {
    const stopping = new AbortController();
    const registered: string[] = [];
    const real = registry();
    const stoppingAfterOne = {
      async register(request: Parameters<typeof real.register>[0]) {
        registered.push(request.url);
        const result = await real.register(request);
        stopping.abort();
        return result;
      },
    };
    const report = await importDiscoveryList(stoppingAfterOne, fetcher, seller.url, {
      signal: stopping.signal,
    });
    assert.equal(report.read, 3, 'the list was read before the stop');
    assert.deepEqual(registered, [`${seller.url}/quotes`], 'nothing registered after it');
    assert.deepEqual(report.listed, [`${seller.url}/quotes`]);
    assert.deepEqual(report.refused, []);
    const aborted = new AbortController();
    aborted.abort();
    const before = seller.hits.get('GET /discovery/resources') ?? 0;
    const none = await importDiscoveryList(real, fetcher, seller.url, { signal: aborted.signal });
    assert.deepEqual(none, { read: 0, listed: [], refused: [] });
    assert.equal(
      seller.hits.get('GET /discovery/resources') ?? 0,
      before,
      'not even the list read',
    );
  });

  test('refusals of the list itself, each with its reason', async () => {
    const cases: [string, ReturnType<typeof createSafeFetcher>, string][] = [
      ['ftp://facilitator.example', fetcher, 'invalid_facilitator_url'],
      [`${seller.url}/junk`, fetcher, 'invalid_discovery_list'],
      [`${seller.url}/down`, fetcher, 'discovery_unreachable'],
      // A public registry's probe refuses loopback: the list is read through it, so no SSRF through an import.
      [seller.url, createSafeFetcher(), 'discovery_unreachable'],
    ];
    for (const [url, using, reason] of cases) {
      await assert.rejects(
        importDiscoveryList(registry(), using, url),
        (error: unknown) => error instanceof DiscoveryImportError && error.reason === reason,
        url,
      );
    }
  });
});
