/**
 * The discovery catalog: where a facilitator keeps the bazaar declarations of payments it settled, for
 * `GET /discovery/resources`. Its storage is the operator's, so every write is bounded: one entry per callable
 * resource (a repeat refreshes it), at most `maxPerPayTo` entries per payTo and `maxTotal` in all, each checked
 * atomically with the write so several processes on one database keep the caps too. Entries not refreshed within
 * the keeper's window are pruned.
 * @module
 */
import type { DiscoveryEntry } from '../extensions/bazaar/catalog-entry.js';
import type { DiscoveryListQuery } from '../extensions/bazaar/discovery-list.js';

/**
 * The catalog's bounds.
 * @example
 * ```ts
 * const caps: DiscoveryCaps = { maxPerPayTo: 20, maxTotal: 10_000 };
 * ```
 */
export type DiscoveryCaps = { readonly maxPerPayTo: number; readonly maxTotal: number };

/**
 * A stored entry, with when it was first and last recorded (epoch ms) and the settlement that paid for that record
 * (the engine writes a route again at most hourly, so later payments within the hour are not named).
 * @example
 * ```ts
 * const { items } = await catalog.list({ limit: 20, offset: 0 });
 * items[0]?.lastUpdated;
 * ```
 */
export type DiscoveryRecord = DiscoveryEntry & {
  readonly transaction: string;
  readonly firstSeen: number;
  readonly lastUpdated: number;
};

/**
 * What a write did: a new entry, a refreshed one, or a refusal because a cap is reached.
 * @example
 * ```ts
 * const outcome: DiscoveryRecordOutcome = { recorded: false, reason: 'bazaar_catalog_full' };
 * ```
 */
export type DiscoveryRecordOutcome =
  | { readonly recorded: true; readonly refreshed: boolean }
  | {
      readonly recorded: false;
      readonly reason: 'bazaar_payto_cap_reached' | 'bazaar_catalog_full';
    };

/**
 * Storage for the discovery catalog. Every method is atomic.
 * @example
 * ```ts
 * const catalog: DiscoveryCatalog = new InMemoryDiscoveryCatalog();
 * await catalog.record(entry, 'txid', { maxPerPayTo: 20, maxTotal: 10_000 }, Date.now());
 * ```
 */
export interface DiscoveryCatalog {
  /** Adds the entry, or refreshes the entry of the same key (which never counts against the caps). */
  record(
    entry: DiscoveryEntry,
    transaction: string,
    caps: DiscoveryCaps,
    now: number,
  ): Promise<DiscoveryRecordOutcome>;
  /** One page, newest first, and how many entries match the filters in all. */
  list(query: DiscoveryListQuery): Promise<{ items: readonly DiscoveryRecord[]; total: number }>;
  /** Drops entries last recorded before `before`; returns how many. */
  prune(before: number): Promise<number>;
}
