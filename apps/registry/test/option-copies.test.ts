/**
 * The copies of a listing's status and sort price that its payment options carry (so filtered searches run on
 * registry_accepts alone) follow the listing: a check that delists it hides it from a filtered search, a
 * re-registration brings it back, and new terms move it in the price order.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { NormalizedListing } from '../src/index.js';
import { tempSqliteStore } from './helpers.js';
import { corpusListings } from './search-corpus.js';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60_000;
const opened = await tempSqliteStore();
after(() => opened.close());

const withAmount = (listing: NormalizedListing, amount: string): NormalizedListing => ({
  ...listing,
  accepts: listing.accepts.map((accept) => ({ ...accept, amount, asset: 'STX', symbol: 'STX' })),
});

test('a filtered search sees status changes and new terms', async () => {
  const { store } = opened;
  const [first, second] = corpusListings(2).map((entry) => withAmount(entry.listing, '5000'));
  const probe = { status: 402, latencyMs: 1 };
  const a = (await store.register(first!, [], probe, NOW, NOW)).stored;
  const b = (await store.register(withAmount(second!, '9000'), [], probe, NOW, NOW)).stored;
  const cheapest = async () =>
    (await store.search({ asset: 'STX', sort: 'price', limit: 10 })).items.map((item) => item.id);
  assert.deepEqual(await cheapest(), [a.id, b.id]);

  await store.claimDue(NOW, { limit: 10, owner: 'test', leaseMs: 60_000 });
  await store.completeCheck(
    a.id,
    'test',
    { outcome: 'gone', httpStatus: 410, latencyMs: 1, reason: 'gone' },
    { status: 'delisted', consecutiveFailures: 1, failingSince: null, nextCheckAt: NOW + DAY },
    NOW,
  );
  assert.deepEqual(await cheapest(), [b.id]);
  const delisted = await store.search({
    asset: 'STX',
    statuses: ['delisted'],
    sort: 'price',
    limit: 10,
  });
  assert.deepEqual(
    delisted.items.map((item) => item.id),
    [a.id],
  );

  // Re-registered with a higher price: listed again, now after the other one.
  await store.register(withAmount(first!, '20000'), [], probe, NOW + 1, NOW + 1);
  assert.deepEqual(await cheapest(), [b.id, a.id]);
  const capped = await store.search({ asset: 'STX', maxAmount: 10_000n, sort: 'price', limit: 10 });
  assert.deepEqual(
    capped.items.map((item) => item.id),
    [b.id],
  );
});
