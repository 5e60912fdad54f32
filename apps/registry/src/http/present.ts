/**
 * Listings as the API and the pages show them: prices in atomic units and, for tokens with known decimals, in human
 * units through the library's exact conversion.
 * @module
 */
import { fromAtomic } from 'x402-stacks/stacks';
import type { ListedAccept } from '../listing.js';
import type { StoredListing } from '../store/types.js';

/** A price for display: `{amount: '0.001', unit: 'STX'}`, or null when the token's decimals are unknown. */
export function humanPrice(accept: ListedAccept): { amount: string; unit: string } | null {
  if (accept.decimals === null) return null;
  return {
    amount: fromAtomic(accept.amount, accept.decimals),
    unit: accept.symbol ?? accept.asset,
  };
}

/** A listing in the JSON API. */
export function presentListing(entry: StoredListing) {
  const { listing } = entry;
  return {
    id: entry.id,
    url: listing.url,
    method: listing.method,
    name: listing.name,
    description: listing.description,
    image: listing.image,
    status: entry.status,
    x402Version: listing.x402Version,
    paywallVerified: listing.paywallVerified,
    accepts: listing.accepts.map((accept) => ({ ...accept, price: humanPrice(accept) })),
    version: entry.version,
    createdAt: iso(entry.createdAt),
    updatedAt: iso(entry.updatedAt),
    checkedAt: entry.checkedAt === null ? null : iso(entry.checkedAt),
    nextCheckAt: iso(entry.nextCheckAt),
    payToChangedAt: entry.payToChangedAt === null ? null : iso(entry.payToChangedAt),
  };
}

/** A timestamp as ISO 8601. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
