/**
 * A deterministic corpus of listings for search tests, and the search written out in plain TypeScript over it:
 * what the store's SQL must return, in order. The corpus is built for ties: listings share creation times and
 * prices, have one to three payment options on either network, and cover every status and both methods, so a
 * change of plan that reorders equal keys or drops a row is seen.
 */
import type { ListingStatus, NormalizedListing, SearchQuery } from '../src/index.js';
import { MAINNET_PAY_TO, TESTNET_PAY_TO } from './fixtures.js';

/** A corpus listing as it was imported, with the id the store gave it. */
export type CorpusEntry = {
  readonly id: string;
  readonly listing: NormalizedListing;
  readonly status: ListingStatus;
  readonly createdAt: number;
};

const WORDS = (
  'weather forecast price oracle bitcoin stacks token swap quote market news summary translate image ' +
  'vision speech audio search index graph wallet balance history chart sentiment signal trading alert'
).split(' ');
const STATUSES: ListingStatus[] = [
  'active',
  'active',
  'active',
  'degraded',
  'pending',
  'failing',
  'delisted',
];
const SBTC = {
  'stacks:1': 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
  'stacks:2147483648': 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token',
} as const;
const OTHER_PAY_TO = 'SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE';
// Few distinct amounts, so price ties are common; the largest needs every one of the key's 39 digits.
const AMOUNTS = [
  '1',
  '7',
  '500',
  '1000',
  '1000',
  '25000',
  '1000000',
  '340282366920938463463374607431768211455',
];

/** Listings in import order, with the status and creation time each gets. */
export function corpusListings(count: number) {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  return Array.from({ length: count }, (_, i) => {
    const accepts = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
      const network = random() < 0.6 ? 'stacks:1' : 'stacks:2147483648';
      const sbtc = random() < 0.4;
      return {
        scheme: 'exact',
        network,
        amount: pick(AMOUNTS),
        asset: sbtc ? SBTC[network] : 'STX',
        symbol: sbtc ? 'sBTC' : 'STX',
        decimals: sbtc ? 8 : 6,
        payTo:
          network === 'stacks:1'
            ? random() < 0.5
              ? MAINNET_PAY_TO
              : OTHER_PAY_TO
            : TESTNET_PAY_TO,
        maxTimeoutSeconds: 60,
      } as const;
    });
    const listing: NormalizedListing = {
      url: `https://seller${i % 40}.example/${words(1)}/${i}`,
      method: random() < 0.75 ? 'GET' : 'POST',
      name: `${words(2)} api ${i}`,
      description: `${words(6)}.`,
      image: null,
      mimeType: 'application/json',
      x402Version: 2,
      paywallVerified: true,
      accepts,
      input: { type: 'http', method: 'GET' },
      output: { result: { type: 'string' } },
    };
    return {
      listing,
      status: pick(STATUSES),
      // Three listings per minute: every page boundary falls inside a tie somewhere.
      createdAt: Date.UTC(2026, 0, 1) + Math.floor(i / 3) * 60_000,
      nextCheckAt: Date.UTC(2027, 0, 1),
    };
  });
}

const DEFAULT_STATUSES: readonly ListingStatus[] = ['pending', 'active', 'degraded', 'failing'];

const tokens = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** Whether an entry matches a query, by the documented rules. */
function matches(entry: CorpusEntry, query: Omit<SearchQuery, 'sort' | 'limit'>): boolean {
  const { listing } = entry;
  const statuses = query.statuses?.length ? query.statuses : DEFAULT_STATUSES;
  if (!statuses.includes(entry.status)) return false;
  if (query.method && listing.method !== query.method) return false;
  const words = tokens(query.q ?? '').slice(0, 8);
  if (words.length > 0) {
    const text = [...tokens(listing.name), ...tokens(listing.description), ...tokens(listing.url)];
    if (!words.every((word) => text.some((token) => token.startsWith(word)))) return false;
  }
  const filtersOptions =
    query.network || query.asset || query.symbol || query.payTo || query.maxAmount !== undefined;
  if (!filtersOptions) return true;
  // Every condition on one and the same payment option.
  return listing.accepts.some(
    (accept) =>
      (!query.network || accept.network === query.network) &&
      (!query.asset || accept.asset === query.asset) &&
      (!query.symbol || accept.symbol === query.symbol) &&
      (!query.payTo || accept.payTo === query.payTo) &&
      (query.maxAmount === undefined || BigInt(accept.amount) <= query.maxAmount),
  );
}

const byId = (a: CorpusEntry, b: CorpusEntry) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The ids a search must return, in order: newest (then id descending) or cheapest first option (then id). */
export function expectedIds(
  corpus: readonly CorpusEntry[],
  query: Omit<SearchQuery, 'limit' | 'cursor'>,
): string[] {
  const found = corpus.filter((entry) => matches(entry, query));
  found.sort((a, b) => {
    if (query.sort === 'newest') return b.createdAt - a.createdAt || -byId(a, b);
    const priceA = BigInt(a.listing.accepts[0]!.amount);
    const priceB = BigInt(b.listing.accepts[0]!.amount);
    return priceA < priceB ? -1 : priceA > priceB ? 1 : byId(a, b);
  });
  return found.map((entry) => entry.id);
}
