/**
 * Two registry instances on one PostgreSQL schema (the machine's database at 127.0.0.1:5432): what one registers
 * the other finds, re-registration on either updates one listing, and two schedulers racing over the same due
 * listings check each exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { endServerConnection, testPostgresUrl } from '@x402-stacks/test-kit';
import { sql } from 'kysely';
import {
  createRegistry,
  createScheduler,
  type OpenedStore,
  openRegistryStore,
  type Registry,
} from '../src/index.js';
import { type Answer, docsDocument, jsonAnswer, v2Challenge } from './fixtures.js';
import { fakeClock, freshSchema, scriptedFetcher } from './helpers.js';

const POSTGRES_URL = await testPostgresUrl();

const MINUTE = 60_000;
const schema = freshSchema();
const clock = fakeClock();
const answers = new Map<string, Answer | Error>();
const fetcher = scriptedFetcher(answers);
const urls = Array.from({ length: 24 }, (_, i) => `https://seller${i}.example/api/weather`);

describe('two instances on one PostgreSQL', () => {
  let a: OpenedStore;
  let b: OpenedStore;
  let registryA: Registry;
  let registryB: Registry;

  before(async () => {
    // Both open (and migrate) at once: the advisory lock keeps the migrations from racing.
    [a, b] = await Promise.all([
      openRegistryStore({ kind: 'postgres', url: POSTGRES_URL, schema }),
      openRegistryStore({ kind: 'postgres', url: POSTGRES_URL, schema }),
    ]);
    registryA = createRegistry({ store: a.store, fetcher, clock });
    registryB = createRegistry({ store: b.store, fetcher, clock });
    for (const [i, url] of urls.entries()) {
      const document = docsDocument(
        url,
        { maxAmountRequired: String(1000 + i) },
        { name: `Weather ${i}` },
      );
      answers.set(url, jsonAnswer(document));
    }
  });

  after(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(a.store.db);
    await Promise.all([a.close(), b.close()]);
  });

  test('what one instance registers the other finds, by full text and by price', async () => {
    for (const [i, url] of urls.entries()) {
      const result = await (i % 2 === 0 ? registryA : registryB).register({ url });
      assert.ok(result.stored, result.error);
    }
    const found = await b.store.search({ q: 'weath', sort: 'price', limit: 5 });
    assert.equal(found.total, urls.length);
    assert.deepEqual(
      found.items.map((item) => item.listing.accepts[0]!.amount),
      ['1000', '1001', '1002', '1003', '1004'],
    );
    const cheap = await a.store.search({
      asset: 'STX',
      maxAmount: 1002n,
      sort: 'price',
      limit: 10,
    });
    assert.equal(cheap.total, 3);
    const next = await a.store.search({ sort: 'price', limit: 5, cursor: found.nextCursor! });
    assert.equal(next.items[0]!.listing.accepts[0]!.amount, '1005');
  });

  test('v2 listings are searchable by URL words in PostgreSQL too', async () => {
    const url = 'https://quotes.example/markets/btc';
    answers.set(url, jsonAnswer(v2Challenge(url)));
    assert.ok((await registryA.register({ url })).stored);
    const found = await b.store.search({ q: 'markets', sort: 'newest', limit: 5 });
    assert.deepEqual(
      found.items.map((i) => i.listing.url),
      [url],
    );
  });

  test('re-registering on the other instance updates the same listing', async () => {
    const url = urls[0]!;
    const first = await registryA.register({ url });
    answers.set(
      url,
      jsonAnswer(docsDocument(url, { maxAmountRequired: '5000' }, { name: 'Weather 0' })),
    );
    const second = await registryB.register({ url });
    assert.equal(second.stored!.id, first.stored!.id);
    assert.equal(second.created, false);
    assert.deepEqual(
      (await a.store.versions(first.stored!.id)).map((v) => v.amount),
      ['5000', '1000'],
    );
  });

  test('two schedulers racing over the due listings check each exactly once', async () => {
    clock.advance(16 * MINUTE);
    const before = fetcher.calls.length;
    const schedulers = [
      createScheduler({ store: a.store, fetcher, clock, owner: 'a', batchSize: 5, concurrency: 3 }),
      createScheduler({ store: b.store, fetcher, clock, owner: 'b', batchSize: 5, concurrency: 3 }),
    ];
    let checked = 0;
    for (let round = 0; round < 10; round++) {
      const counts = await Promise.all(schedulers.map((s) => s.runOnce()));
      checked += counts[0]! + counts[1]!;
    }
    const total = await a.store.count();
    assert.equal(checked, total);
    const probed = fetcher.calls.slice(before);
    assert.equal(probed.length, total);
    assert.equal(new Set(probed).size, total, 'no listing was probed twice');
    const page = await b.store.search({ sort: 'newest', limit: 100 });
    assert.ok(page.items.every((item) => item.status === 'active'));
  });
});

test('an idle connection the server ends is dropped, and the store goes on', async () => {
  const own = freshSchema();
  const opened = await openRegistryStore({ kind: 'postgres', url: POSTGRES_URL, schema: own });
  try {
    // The store's connection, idle again once this read is done, ended by the server as a restart would.
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
      opened.store.db,
    );
    assert.equal(await endServerConnection(POSTGRES_URL, rows[0]!.pid), true);
    // The pool hears of it on its next turn; an unheard 'error' event would have ended this process.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await opened.store.count(), 0);
  } finally {
    await sql`drop schema if exists ${sql.id(own)} cascade`.execute(opened.store.db);
    await opened.close();
  }
});

test('a connection URL with options of its own still opens the store in its schema', async () => {
  const own = freshSchema();
  // A search_path that does not exist: should the URL win again, opening the store fails without writing anywhere.
  const options = `-c statement_timeout=30000 -c search_path=${own}_decoy`;
  const url = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(options)}`;
  const opened = await openRegistryStore({ kind: 'postgres', url, schema: own });
  try {
    const { rows } = await sql<{ schema: string; timeout: string }>`
      select current_schema() as schema, current_setting('statement_timeout') as timeout`.execute(
      opened.store.db,
    );
    assert.deepEqual(rows[0], { schema: own, timeout: '30s' });
    const tables = await sql<{ n: string }>`
      select count(*) as n from information_schema.tables where table_schema = ${own}`.execute(
      opened.store.db,
    );
    assert.ok(Number(tables.rows[0]!.n) > 0, 'the tables are in the schema named');
  } finally {
    await sql`drop schema if exists ${sql.id(own)} cascade`.execute(opened.store.db);
    await opened.close();
  }
});
