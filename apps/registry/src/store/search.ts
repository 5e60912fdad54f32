/**
 * A search of the directory as the store takes it, and the pieces every search statement shares: amount keys,
 * the words handed to full text, and the opaque keyset cursors. The statements are in search-statements.ts.
 * @module
 */
import type { ListingStatus } from '../listing.js';

/**
 * A search of the directory: words, payment filters, statuses, an order and a page.
 * @example
 * ```ts
 * const query: SearchQuery = { q: 'weather', symbol: 'sBTC', maxAmount: 1_000n, sort: 'price', limit: 20 };
 * const { items, nextCursor } = await store.search(query);
 * ```
 */
export type SearchQuery = {
  /** Words; each must match (as a prefix) the name, description or URL. */
  readonly q?: string;
  /** CAIP-2. */
  readonly network?: string;
  /** A contract id or `STX`. */
  readonly asset?: string;
  /** A known symbol (`sBTC`), matched on any network. */
  readonly symbol?: string;
  /** Atomic units; only options at or below it match. Meaningful with `asset` or `symbol`. */
  readonly maxAmount?: bigint;
  /** Options paying this address. */
  readonly payTo?: string;
  readonly method?: string;
  /** Default: everything but delisted. */
  readonly statuses?: readonly ListingStatus[];
  readonly sort: 'newest' | 'price';
  readonly limit: number;
  readonly cursor?: string;
};

/** Digits in a padded amount key: 2^128 - 1 has 39. */
export const AMOUNT_KEY_DIGITS = 39;

/** The amount as a fixed-width key that sorts as text exactly as the number sorts. */
export function amountKey(amount: bigint | string): string {
  return BigInt(amount).toString().padStart(AMOUNT_KEY_DIGITS, '0');
}

/** Words safe to hand to either full-text engine: letters and digits only, at most eight. */
export function searchWords(q: string | undefined): string[] {
  return (q?.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 8);
}

/** Whether the query filters on payment options (network, asset, symbol, price, payTo). */
export function filtersOptions(query: SearchQuery): boolean {
  return Boolean(
    query.network || query.asset || query.symbol || query.payTo || query.maxAmount !== undefined,
  );
}

/** The statuses a query shows: the ones asked for, or every one but delisted. */
export function shownStatuses(query: SearchQuery): ListingStatus[] {
  return query.statuses?.length
    ? [...query.statuses]
    : ['pending', 'active', 'degraded', 'failing'];
}

/** The FTS5 query for words: each a quoted prefix, all required. */
export function ftsMatch(words: readonly string[]): string {
  return words.map((word) => `"${word}"*`).join(' ');
}

/** The PostgreSQL tsquery for words: each a prefix, all required. */
export function tsQuery(words: readonly string[]): string {
  return words.map((word) => `${word}:*`).join(' & ');
}

export type CursorKey = { readonly key: string | number; readonly id: string };

/** An opaque cursor for the row a page ended on. */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.key, key.id])).toString('base64url');
}

/** Reads a cursor; undefined when it is not one this registry made. */
export function decodeCursor(cursor: string, sort: SearchQuery['sort']): CursorKey | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2 || typeof value[1] !== 'string')
      return undefined;
    const [key, id] = value as [unknown, string];
    if (sort === 'newest' && Number.isSafeInteger(key)) return { key: key as number, id };
    if (sort === 'price' && typeof key === 'string' && /^\d{39}$/.test(key)) return { key, id };
    return undefined;
  } catch {
    return undefined;
  }
}
