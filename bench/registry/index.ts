/**
 * bench/registry: the directory's queries at 100,000 listings on SQLite and PostgreSQL, beside a primary-key lookup
 * measured in the same run, plus how long validating a registration takes against a local seller.
 *
 * Usage: npx tsx bench/registry/index.ts [--listings 100000] [--runs 200] [--postgres postgres://…|off]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRegistry,
  createSafeFetcher,
  type ListingStatus,
  type NormalizedListing,
  openRegistryStore,
  type RegistryStore,
  systemClock,
  validateEndpoint,
} from '@x402-stacks/registry';
import { sql } from 'kysely';
import { flag, peakRssMiB, printTable } from '../lib.js';

const LISTINGS = Number(flag('listings', '100000'));
const RUNS = Number(flag('runs', '200'));
const POSTGRES = flag('postgres', 'postgres://postgres@127.0.0.1:5432/test');

const WORDS = (
  'weather forecast price oracle bitcoin stacks token swap quote market news summary translate image ' +
  'vision speech audio search index graph wallet balance history chart sentiment signal trading alert ' +
  'geocode route map traffic flight hotel recipe nutrition fitness sleep music lyrics movie review ' +
  'sports score odds crypto defi lending yield nft metadata domain whois email verify phone sms ocr ' +
  'pdf invoice tax payroll legal contract code lint test deploy uptime monitor dns ssl scan exploit'
).split(' ');
const PAY_TO = {
  'stacks:1': 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
  'stacks:2147483648': 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
} as const;
const SBTC = {
  'stacks:1': 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
  'stacks:2147483648': 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token',
} as const;
const STATUSES: ListingStatus[] = [
  'active',
  'active',
  'active',
  'active',
  'degraded',
  'pending',
  'failing',
  'delisted',
];

// A fixed-seed generator, so both databases get the same listings and every run the same queries.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');

function listingAt(i: number): {
  listing: NormalizedListing;
  status: ListingStatus;
  createdAt: number;
  nextCheckAt: number;
} {
  const network = random() < 0.7 ? 'stacks:1' : 'stacks:2147483648';
  const sbtc = random() < 0.3;
  const amount = String(1 + Math.floor(random() * (sbtc ? 100_000 : 50_000_000)));
  const name = `${words(2)} api ${i}`;
  const createdAt = Date.UTC(2025, 0, 1) + i * 60_000;
  return {
    status: pick(STATUSES),
    createdAt,
    nextCheckAt: createdAt + 3_600_000,
    listing: {
      url: `https://seller${i % 5000}.example/${words(1)}/${i}`,
      method: random() < 0.8 ? 'GET' : 'POST',
      name,
      description: `${words(10)}.`,
      image: null,
      mimeType: 'application/json',
      x402Version: random() < 0.5 ? 1 : 2,
      paywallVerified: true,
      accepts: [
        {
          scheme: 'exact',
          network,
          amount,
          asset: sbtc ? SBTC[network] : 'STX',
          symbol: sbtc ? 'sBTC' : 'STX',
          decimals: sbtc ? 8 : 6,
          payTo: PAY_TO[network],
          maxTimeoutSeconds: 300,
        },
      ],
      input: { type: 'http', method: 'GET', queryParams: { q: { type: 'string' } } },
      output: { result: { type: 'string' } },
    },
  };
}

async function timed(
  runs: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < Math.min(20, runs); i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(runs * 0.5)]!, p95: samples[Math.floor(runs * 0.95)]! };
}

const ms = (value: number) => value.toFixed(2);

async function benchStore(label: string, store: RegistryStore, rows: (string | number)[][]) {
  const seedStart = performance.now();
  const entries = Array.from({ length: LISTINGS }, (_, i) => listingAt(i));
  const ids = await store.importListings(entries, 1000);
  const seconds = (performance.now() - seedStart) / 1000;
  process.stderr.write(
    `  ${label}: seeded ${ids.length.toLocaleString('en-US')} listings in ${seconds.toFixed(1)} s\n`,
  );
  // Statistics for the planners; on PostgreSQL also the visibility map autovacuum would set, so counts can be
  // answered from indexes as they would be on a table that has been live for a while.
  await sql.raw(store.dialect === 'postgres' ? 'vacuum analyze' : 'analyze').execute(store.db);

  const baseline = await timed(RUNS, (i) =>
    store.db
      .selectFrom('registry_listings')
      .select('id')
      .where('id', '=', ids[(i * 7919) % ids.length]!)
      .executeTakeFirst(),
  );
  const cases: [string, (i: number) => Promise<unknown>][] = [
    [
      'search: one word',
      (i) => store.search({ q: WORDS[i % WORDS.length]!, sort: 'newest', limit: 20 }),
    ],
    [
      'search: two word prefixes',
      (i) =>
        store.search({
          q: `${WORDS[i % WORDS.length]!.slice(0, 4)} ${WORDS[(i * 3) % WORDS.length]!.slice(0, 3)}`,
          sort: 'newest',
          limit: 20,
        }),
    ],
    [
      'filter: STX ≤ max, by price',
      (i) =>
        store.search({ asset: 'STX', maxAmount: BigInt(1000 + i * 997), sort: 'price', limit: 20 }),
    ],
    [
      'filter: testnet sBTC, POST',
      () =>
        store.search({
          network: 'stacks:2147483648',
          symbol: 'sBTC',
          method: 'POST',
          sort: 'newest',
          limit: 20,
        }),
    ],
    ['browse: newest, page 1', () => store.search({ sort: 'newest', limit: 20 })],
    [
      'detail: listing, versions, checks, uptime',
      async (i) => {
        const id = ids[(i * 104_729) % ids.length]!;
        await Promise.all([
          store.get(id),
          store.versions(id),
          store.checks(id, 20),
          store.uptime(id, Date.now()),
        ]);
      },
    ],
    [
      'discovery: offset page',
      (i) => store.page({ statuses: ['active', 'degraded', 'pending'] }, 20, (i % 50) * 20),
    ],
  ];
  rows.push([label, 'primary-key lookup (baseline)', ms(baseline.p50), ms(baseline.p95), '1.0']);
  for (const [name, fn] of cases) {
    const result = await timed(RUNS, fn);
    rows.push([
      label,
      name,
      ms(result.p50),
      ms(result.p95),
      (result.p95 / baseline.p95).toFixed(1),
    ]);
  }
}

const rows: (string | number)[][] = [];
console.error(
  `bench/registry: ${LISTINGS.toLocaleString('en-US')} listings, ${RUNS} runs per query`,
);

const dir = mkdtempSync(join(tmpdir(), 'x402-bench-registry-'));
const sqlite = await openRegistryStore({ kind: 'sqlite', path: join(dir, 'registry.db') });
await benchStore('SQLite', sqlite.store, rows);

let postgres: Awaited<ReturnType<typeof openRegistryStore>> | undefined;
const schema = `registry_bench_${process.pid}`;
if (POSTGRES !== 'off') {
  postgres = await openRegistryStore({ kind: 'postgres', url: POSTGRES, schema });
  try {
    await benchStore('PostgreSQL', postgres.store, rows);
  } finally {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(postgres.store.db);
    await postgres.close();
  }
}

// Registration: validating a live 402 from a seller on 127.0.0.1, and validating plus storing it in SQLite.
const server = createServer((request, response) => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${request.url}`;
  response.writeHead(402, { 'content-type': 'application/json' });
  response.end(JSON.stringify(listingDocument(url)));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const fetcher = createSafeFetcher({ allowInsecureLocal: true });
const validation = await timed(RUNS, (i) =>
  validateEndpoint({ url: `${base}/r/${i}` }, { fetcher, allowInsecureLocal: true }),
);
const registry = createRegistry({
  store: sqlite.store,
  fetcher,
  clock: systemClock,
  allowInsecureLocal: true,
});
const registration = await timed(RUNS, (i) => registry.register({ url: `${base}/new/${i}` }));
server.close();
rows.push([
  'local seller',
  'validate (probe + checks)',
  ms(validation.p50),
  ms(validation.p95),
  '',
]);
rows.push([
  'local seller',
  'register (validate + store, SQLite)',
  ms(registration.p50),
  ms(registration.p95),
  '',
]);
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

printTable(['database', 'query', 'p50 ms', 'p95 ms', 'p95 ÷ baseline'], rows);
console.log(`\npeak RSS: ${peakRssMiB().toFixed(0)} MiB`);

function listingDocument(url: string) {
  return {
    x402Version: 1,
    name: 'Bench weather',
    accepts: [
      {
        scheme: 'exact',
        network: 'stacks',
        maxAmountRequired: '1000',
        resource: url,
        description: 'Weather for the benchmark',
        mimeType: 'application/json',
        payTo: PAY_TO['stacks:2147483648'],
        maxTimeoutSeconds: 60,
        asset: 'STX',
        outputSchema: { input: { type: 'http', method: 'GET' }, output: { t: { type: 'number' } } },
      },
    ],
  };
}
