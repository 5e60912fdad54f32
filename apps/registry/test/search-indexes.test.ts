/**
 * Searches over indexes, on a SQLite file and on the machine's PostgreSQL: each main combination of filters and
 * sorts returns exactly what the plain-TypeScript reference returns (content, order with ties, totals, every cursor
 * page and discovery offset page), and no statement a search runs reads the listings table from end to end.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import { sql } from 'kysely';
import { type OpenedStore, openRegistryStore, type SearchQuery } from '../src/index.js';
import { MAINNET_PAY_TO } from './fixtures.js';
import { freshSchema } from './helpers.js';
import { fullListingScans, type PlanRecorder, planRecorder } from './query-plans.js';
import { type CorpusEntry, corpusListings, expectedIds } from './search-corpus.js';

const POSTGRES_URL = await testPostgresUrl();

const LISTINGS = 1500;
const TESTNET = 'stacks:2147483648';
const SBTC_TESTNET = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token';

type Filters = Omit<SearchQuery, 'sort' | 'limit' | 'cursor'>;

/** The filters the directory and the API offer, alone and combined; each is run in both orders. */
const FILTERS: [string, Filters][] = [
  ['no filter', {}],
  ['one word', { q: 'weather' }],
  ['two word prefixes', { q: 'wea pri' }],
  ['network', { network: TESTNET }],
  ['asset STX', { asset: 'STX' }],
  ['symbol sBTC', { symbol: 'sBTC' }],
  ['asset contract id', { asset: SBTC_TESTNET }],
  ['asset STX at most 1000', { asset: 'STX', maxAmount: 1000n }],
  ['testnet sBTC at most 500', { network: TESTNET, symbol: 'sBTC', maxAmount: 500n }],
  ['testnet sBTC POST', { network: TESTNET, symbol: 'sBTC', method: 'POST' }],
  ['method POST', { method: 'POST' }],
  ['status delisted', { statuses: ['delisted'] }],
  ['status active or degraded', { statuses: ['active', 'degraded'] }],
  ['payTo', { payTo: MAINNET_PAY_TO }],
  ['word, STX at most 25000', { q: 'market', asset: 'STX', maxAmount: 25_000n }],
  ['word, POST, mainnet', { q: 'sta', method: 'POST', network: 'stacks:1' }],
];
const SORTS: SearchQuery['sort'][] = ['newest', 'price'];

/** The discovery route's queries: its fixed statuses, with and without its filters. */
const DISCOVERY: [string, Filters][] = [
  ['default', { statuses: ['active', 'degraded', 'pending'] }],
  ['network', { network: TESTNET, statuses: ['active', 'degraded', 'pending'] }],
  ['payTo', { payTo: MAINNET_PAY_TO, statuses: ['active', 'degraded', 'pending'] }],
];

type Target = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

function searchIndexTests(label: string, target: () => Target, cleanUp: () => Promise<void>) {
  describe(`searches over indexes on ${label}`, () => {
    let opened: OpenedStore;
    let recorder: PlanRecorder;
    let corpus: CorpusEntry[];

    before(async () => {
      opened = await openRegistryStore(target());
      const entries = corpusListings(LISTINGS);
      const ids = await opened.store.importListings(entries, 500);
      corpus = entries.map((entry, i) => ({ ...entry, id: ids[i]! }));
      await sql
        .raw(opened.store.dialect === 'postgres' ? 'vacuum analyze' : 'analyze')
        .execute(opened.store.db);
      recorder = planRecorder(target(), { postgresIndexesOnly: true });
    });

    after(async () => {
      await recorder.close();
      await opened.close();
      await cleanUp();
    });

    for (const [name, filters] of FILTERS) {
      for (const sort of SORTS) {
        test(`${name}, ${sort} first: every page in order, ties included, and the total`, async () => {
          const expected = expectedIds(corpus, { ...filters, sort });
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await opened.store.search({ ...filters, sort, limit: 50, cursor });
            assert.equal(page.total, expected.length);
            seen.push(...page.items.map((item) => item.id));
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          assert.deepEqual(seen, expected);
        });

        test(`${name}, ${sort} first: no statement reads the whole listings table`, async () => {
          const statements = await recorder.explain((store) =>
            store.search({ ...filters, sort, limit: 20 }),
          );
          for (const statement of statements) {
            assert.deepEqual(
              fullListingScans(statement),
              [],
              `${statement.sql}\n${statement.plan.join('\n')}`,
            );
          }
        });
      }
    }

    for (const [name, filters] of DISCOVERY) {
      test(`discovery ${name}: offset pages in order and the total`, async () => {
        const expected = expectedIds(corpus, { ...filters, sort: 'newest' });
        for (const offset of [0, 20, 37, expected.length - 5, expected.length + 10]) {
          const page = await opened.store.page(filters, 20, offset);
          assert.equal(page.total, expected.length);
          assert.deepEqual(
            page.items.map((item) => item.id),
            expected.slice(offset, offset + 20),
          );
        }
      });

      test(`discovery ${name}: no statement reads the whole listings table`, async () => {
        const statements = await recorder.explain((store) => store.page(filters, 20, 40));
        for (const statement of statements) {
          assert.deepEqual(
            fullListingScans(statement),
            [],
            `${statement.sql}\n${statement.plan.join('\n')}`,
          );
        }
      });
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), 'x402-registry-indexes-'));
searchIndexTests(
  'a SQLite file',
  () => ({ kind: 'sqlite', path: join(dir, 'registry.db') }),
  async () => rmSync(dir, { recursive: true, force: true }),
);

const schema = freshSchema();
searchIndexTests(
  'PostgreSQL',
  () => ({ kind: 'postgres', url: POSTGRES_URL, schema }),
  async () => {
    const { store, close } = await openRegistryStore({
      kind: 'postgres',
      url: POSTGRES_URL,
      schema,
    });
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
    await close();
  },
);
