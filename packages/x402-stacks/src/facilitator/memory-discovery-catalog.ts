/**
 * The discovery catalog in memory: the default of an engine without a durable ledger. Bounded like the SQL one.
 * @module
 */
import type { DiscoveryEntry } from '../extensions/bazaar/catalog-entry.js';
import type { DiscoveryListQuery } from '../extensions/bazaar/discovery-list.js';
import type {
  DiscoveryCaps,
  DiscoveryCatalog,
  DiscoveryRecord,
  DiscoveryRecordOutcome,
} from './discovery-catalog.js';

/**
 * A {@link DiscoveryCatalog} held in this process.
 * @example
 * ```ts
 * createFacilitator({ networks, discovery: { catalog: new InMemoryDiscoveryCatalog() } });
 * ```
 */
export class InMemoryDiscoveryCatalog implements DiscoveryCatalog {
  readonly #entries = new Map<string, DiscoveryRecord>();

  async record(
    entry: DiscoveryEntry,
    transaction: string,
    caps: DiscoveryCaps,
    now: number,
  ): Promise<DiscoveryRecordOutcome> {
    const existing = this.#entries.get(entry.key);
    if (!existing) {
      if (this.#entries.size >= caps.maxTotal)
        return { recorded: false, reason: 'bazaar_catalog_full' };
      let ofPayTo = 0;
      for (const record of this.#entries.values()) if (record.payTo === entry.payTo) ofPayTo++;
      if (ofPayTo >= caps.maxPerPayTo)
        return { recorded: false, reason: 'bazaar_payto_cap_reached' };
    }
    this.#entries.set(entry.key, {
      ...entry,
      transaction,
      firstSeen: existing?.firstSeen ?? now,
      lastUpdated: now,
    });
    return { recorded: true, refreshed: existing !== undefined };
  }

  async list(query: DiscoveryListQuery) {
    const matching = [...this.#entries.values()]
      .filter((record) => matchesQuery(record, query))
      .sort(newestFirst);
    return {
      items: matching.slice(query.offset, query.offset + query.limit),
      total: matching.length,
    };
  }

  async prune(before: number): Promise<number> {
    let pruned = 0;
    for (const [key, record] of this.#entries) {
      if (record.lastUpdated < before) {
        this.#entries.delete(key);
        pruned++;
      }
    }
    return pruned;
  }
}

/** Whether a record passes the list's filters: every entry is an `exact` payment carrying the `bazaar` extension. */
function matchesQuery(record: DiscoveryRecord, query: DiscoveryListQuery): boolean {
  return (
    (query.type === undefined || record.type === query.type) &&
    (query.payTo === undefined || record.payTo === query.payTo) &&
    (query.network === undefined || record.network === query.network) &&
    (query.scheme === undefined || query.scheme === 'exact') &&
    (query.extensions === undefined || query.extensions === 'bazaar')
  );
}

function newestFirst(a: DiscoveryRecord, b: DiscoveryRecord): number {
  return b.lastUpdated - a.lastUpdated || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
