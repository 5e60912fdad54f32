/**
 * The in-memory discovery catalog's bounds: a repeat refreshes instead of growing, the per-payTo and total caps refuse
 * with their reasons, pruning drops what was not refreshed. The SQL catalog runs the same cases in apps/facilitator.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DiscoveryEntry, declareBazaar, discoveryEntryOf } from 'x402-stacks/extensions';
import {
  createFacilitator,
  FacilitatorConfigError,
  InMemoryDiscoveryCatalog,
} from 'x402-stacks/facilitator';

const A = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const B = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';

function entryFor(payTo: string, path: string): DiscoveryEntry {
  const found = discoveryEntryOf(
    { resource: { url: `https://api.example${path}` }, extensions: { bazaar: declareBazaar({}) } },
    {
      scheme: 'exact',
      network: 'stacks:2147483648',
      amount: '1',
      asset: 'STX',
      payTo,
      maxTimeoutSeconds: 60,
    },
  );
  assert.equal(found.status, 'entry');
  return (found as { entry: DiscoveryEntry }).entry;
}

describe('InMemoryDiscoveryCatalog', () => {
  const caps = { maxPerPayTo: 2, maxTotal: 3 };

  test('a repeat refreshes the entry and never counts against the caps', async () => {
    const catalog = new InMemoryDiscoveryCatalog();
    assert.deepEqual(await catalog.record(entryFor(A, '/a'), 't1', caps, 1), {
      recorded: true,
      refreshed: false,
    });
    assert.deepEqual(await catalog.record(entryFor(A, '/b'), 't2', caps, 2), {
      recorded: true,
      refreshed: false,
    });
    assert.deepEqual(await catalog.record(entryFor(A, '/a'), 't3', caps, 3), {
      recorded: true,
      refreshed: true,
    });
    const { items, total } = await catalog.list({ limit: 10, offset: 0 });
    assert.equal(total, 2);
    assert.equal(items[0]!.resource, 'https://api.example/a');
    assert.equal(items[0]!.transaction, 't3');
    assert.equal(items[0]!.firstSeen, 1);
  });

  test('caps: bazaar_payto_cap_reached, then bazaar_catalog_full', async () => {
    const catalog = new InMemoryDiscoveryCatalog();
    await catalog.record(entryFor(A, '/a'), 't', caps, 1);
    await catalog.record(entryFor(A, '/b'), 't', caps, 1);
    assert.deepEqual(await catalog.record(entryFor(A, '/c'), 't', caps, 1), {
      recorded: false,
      reason: 'bazaar_payto_cap_reached',
    });
    await catalog.record(entryFor(B, '/d'), 't', caps, 1);
    assert.deepEqual(await catalog.record(entryFor(B, '/e'), 't', caps, 1), {
      recorded: false,
      reason: 'bazaar_catalog_full',
    });
    assert.equal((await catalog.list({ limit: 10, offset: 0 })).total, 3);
  });

  test('filters and pages; prune drops entries not refreshed since the cut-off', async () => {
    const catalog = new InMemoryDiscoveryCatalog();
    const roomy = { maxPerPayTo: 10, maxTotal: 10 };
    await catalog.record(entryFor(A, '/a'), 't', roomy, 1);
    await catalog.record(entryFor(B, '/b'), 't', roomy, 2);
    await catalog.record(entryFor(B, '/c'), 't', roomy, 3);
    assert.equal((await catalog.list({ limit: 10, offset: 0, payTo: B })).total, 2);
    assert.equal((await catalog.list({ limit: 10, offset: 0, scheme: 'upto' })).total, 0);
    assert.equal((await catalog.list({ limit: 10, offset: 0, type: 'mcp' })).total, 0);
    const page = await catalog.list({ limit: 1, offset: 1 });
    assert.deepEqual(
      [page.items.map((i) => i.resource), page.total],
      [['https://api.example/b'], 3],
    );
    assert.equal(await catalog.prune(3), 2);
    assert.equal((await catalog.list({ limit: 10, offset: 0 })).total, 1);
  });
});

describe('the engine’s discovery options', () => {
  test('bounds that are not positive integers are refused, every one listed', () => {
    assert.throws(
      () =>
        createFacilitator({
          networks: { testnet: { url: 'http://127.0.0.1:9' } },
          discovery: { maxDeclarationBytes: 0, maxPerPayTo: 1.5, maxTotal: -1, ttlMs: Number.NaN },
        }),
      (error: unknown) =>
        error instanceof FacilitatorConfigError &&
        ['maxDeclarationBytes', 'maxPerPayTo', 'maxTotal', 'ttlMs'].every((name) =>
          error.message.includes(`discovery.${name}: expected a positive integer`),
        ),
    );
  });

  test('an engine lists bazaar in /supported by default, and an empty first page', async () => {
    const engine = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
    assert.ok(engine.supported().extensions.includes('bazaar'));
    assert.deepEqual(await engine.discoveryResources({ limit: 5, offset: 0 }), {
      x402Version: 2,
      items: [],
      pagination: { limit: 5, offset: 0, total: 0 },
    });
  });
});
