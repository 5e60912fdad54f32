/**
 * The directory's query string, validated with zod and turned into a store query. Networks accept names and
 * CAIP-2 ids; assets accept symbols and contract ids; a maximum price is atomic (`maxAmount`) or human
 * (`maxPrice`, which needs an asset with known decimals).
 * @module
 */
import { networkToCAIP2 } from 'x402-stacks';
import { isStacksNetwork, toAtomic } from 'x402-stacks/stacks';
import { z } from 'zod';
import { LISTING_STATUSES } from '../listing.js';
import type { SearchQuery } from '../store/search.js';

const KNOWN_SYMBOLS: Record<string, { symbol: string; decimals: number }> = {
  stx: { symbol: 'STX', decimals: 6 },
  sbtc: { symbol: 'sBTC', decimals: 8 },
  usdcx: { symbol: 'USDCx', decimals: 6 },
};

// An empty form field means "no filter", not an invalid value.
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const QuerySchema = z.object({
  q: optional(z.string().max(200)),
  network: optional(
    z.string().refine(isStacksNetwork, 'expected mainnet, testnet, stacks:1 or stacks:2147483648'),
  ),
  asset: optional(
    z
      .string()
      .regex(
        /^(stx|sbtc|usdcx|S[PMTN][0-9A-Z]{20,60}\.[a-zA-Z][a-zA-Z0-9_-]{0,39})$/i,
        'expected STX, sBTC, USDCx or a contract id',
      ),
  ),
  maxAmount: optional(z.string().regex(/^\d{1,39}$/, 'expected atomic units, a whole number')),
  maxPrice: optional(
    z.string().regex(/^\d{1,30}(\.\d{1,18})?$/, 'expected a decimal price such as 0.01'),
  ),
  method: optional(
    z
      .string()
      .regex(/^[A-Za-z]{3,7}$/, 'expected an HTTP method')
      .transform((m) => m.toUpperCase()),
  ),
  status: optional(
    z
      .string()
      .transform((s) => s.split(',').map((part) => part.trim()))
      .pipe(z.array(z.enum(LISTING_STATUSES)).min(1)),
  ),
  sort: optional(z.enum(['newest', 'price'])),
  limit: optional(
    z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(100)),
  ),
  cursor: optional(z.string().max(200)),
});

/** A problem with the query string. */
export type QueryProblem = { readonly path: string; readonly message: string };

/**
 * Parses the directory's query parameters.
 * @example
 * ```ts
 * parseSearchQuery({ q: 'weather', asset: 'STX', maxPrice: '0.01' });
 * // { query: { q: 'weather', symbol: 'STX', maxAmount: 10000n, sort: 'newest', limit: 20 } }
 * ```
 */
export function parseSearchQuery(
  params: Record<string, string | undefined>,
): { query: SearchQuery } | { problems: QueryProblem[] } {
  const parsed = QuerySchema.safeParse(params);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    };
  }
  const value = parsed.data;
  const known = value.asset ? KNOWN_SYMBOLS[value.asset.toLowerCase()] : undefined;
  const problems: QueryProblem[] = [];
  let maxAmount = value.maxAmount === undefined ? undefined : BigInt(value.maxAmount);
  if (value.maxPrice !== undefined) {
    if (!known)
      problems.push({
        path: 'maxPrice',
        message: 'maxPrice needs asset=STX, sBTC or USDCx; use maxAmount for other tokens',
      });
    else maxAmount = toAtomic(value.maxPrice, known.decimals);
  }
  if (maxAmount !== undefined && !value.asset) {
    problems.push({
      path: 'maxAmount',
      message: 'a maximum price needs an asset: amounts of different tokens do not compare',
    });
  }
  if (problems.length > 0) return { problems };
  return {
    query: {
      ...(value.q ? { q: value.q } : {}),
      ...(value.network ? { network: networkToCAIP2(value.network) } : {}),
      ...(known
        ? known.symbol === 'STX'
          ? { asset: 'STX' }
          : { symbol: known.symbol }
        : value.asset
          ? { asset: value.asset }
          : {}),
      ...(maxAmount === undefined ? {} : { maxAmount }),
      ...(value.method ? { method: value.method } : {}),
      ...(value.status ? { statuses: value.status } : {}),
      sort: value.sort ?? 'newest',
      limit: value.limit ?? 20,
      ...(value.cursor ? { cursor: value.cursor } : {}),
    },
  };
}
