/**
 * The discovery catalog on SQLite or PostgreSQL, beside the ledger in the same database. A new entry is inserted by
 * one statement that counts the payTo's entries and all entries under the caps, so the caps hold however many
 * processes write: SQLite runs a statement under its one write lock, and on PostgreSQL the write takes an advisory
 * lock of the catalog first. A repeat of a known key only refreshes it.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import type { DiscoveryEntry, DiscoveryListQuery } from 'x402-stacks/extensions';
import type {
  DiscoveryCaps,
  DiscoveryCatalog,
  DiscoveryRecord,
  DiscoveryRecordOutcome,
} from 'x402-stacks/facilitator';
import type { DiscoveryDatabase, DiscoveryTable } from './discovery-schema.js';
import type { LedgerDatabase } from './schema.js';

// Distinct from the migration's lock: taken for each new entry.
const CATALOG_LOCK = 4_020_403;

/**
 * A {@link DiscoveryCatalog} in the ledger's database.
 * @example
 * ```ts
 * const catalog = new SqlDiscoveryCatalog(opened.db, 'sqlite');
 * ```
 */
export class SqlDiscoveryCatalog implements DiscoveryCatalog {
  readonly #db: Kysely<DiscoveryDatabase>;
  readonly #dialect: 'sqlite' | 'postgres';

  /** `db` is the ledger's connection; the catalog's table lives in the same database. */
  constructor(db: Kysely<LedgerDatabase>, dialect: 'sqlite' | 'postgres') {
    this.#db = db as unknown as Kysely<DiscoveryDatabase>;
    this.#dialect = dialect;
  }

  async record(
    entry: DiscoveryEntry,
    transaction: string,
    caps: DiscoveryCaps,
    now: number,
  ): Promise<DiscoveryRecordOutcome> {
    const { key, payTo, ...rest } = entry;
    const json = JSON.stringify(rest);
    const at = String(now);
    const refreshed = await this.#db
      .updateTable('x402_discovery')
      .set({
        entry: json,
        txid: transaction,
        bytes: entry.bytes,
        last_updated: at,
        network: entry.network,
      })
      .where('key', '=', key)
      .executeTakeFirst();
    if (Number(refreshed.numUpdatedRows) > 0) return { recorded: true, refreshed: true };

    const insert = async (db: Kysely<DiscoveryDatabase>) => {
      if (this.#dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(${CATALOG_LOCK})`.execute(db);
      // One statement: the row goes in only while both counts are under their caps.
      const inserted = await sql`insert into x402_discovery
          (key, pay_to, network, resource, type, txid, entry, bytes, first_seen, last_updated)
        select ${key}, ${payTo}, ${entry.network}, ${entry.resource}, ${entry.type}, ${transaction}, ${json},
          ${entry.bytes}, ${at}, ${at}
        where (select count(*) from x402_discovery where pay_to = ${payTo}) < ${caps.maxPerPayTo}
          and (select count(*) from x402_discovery) < ${caps.maxTotal}
        on conflict (key) do update set entry = excluded.entry, txid = excluded.txid,
          bytes = excluded.bytes, last_updated = excluded.last_updated`.execute(db);
      if (Number(inserted.numAffectedRows ?? 0n) > 0)
        return { recorded: true, refreshed: false } as const;
      const [total, ofPayTo] = await Promise.all([
        db
          .selectFrom('x402_discovery')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
        db
          .selectFrom('x402_discovery')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('pay_to', '=', payTo)
          .executeTakeFirst(),
      ]);
      if (Number(ofPayTo?.n ?? 0) >= caps.maxPerPayTo)
        return { recorded: false, reason: 'bazaar_payto_cap_reached' } as const;
      if (Number(total?.n ?? 0) >= caps.maxTotal)
        return { recorded: false, reason: 'bazaar_catalog_full' } as const;
      return { recorded: true, refreshed: true } as const;
    };
    return this.#dialect === 'postgres' ? this.#db.transaction().execute(insert) : insert(this.#db);
  }

  async list(query: DiscoveryListQuery) {
    // Every entry is an `exact` payment carrying `bazaar`: other scheme or extension filters match nothing.
    if (
      (query.scheme !== undefined && query.scheme !== 'exact') ||
      (query.extensions !== undefined && query.extensions !== 'bazaar')
    )
      return { items: [], total: 0 };
    let filtered = this.#db.selectFrom('x402_discovery');
    if (query.type !== undefined) filtered = filtered.where('type', '=', query.type);
    if (query.payTo !== undefined) filtered = filtered.where('pay_to', '=', query.payTo);
    if (query.network !== undefined) filtered = filtered.where('network', '=', query.network);
    const [rows, counted] = await Promise.all([
      filtered
        .selectAll()
        .orderBy('last_updated', 'desc')
        .orderBy('key')
        .limit(query.limit)
        .offset(query.offset)
        .execute(),
      filtered.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
    ]);
    return { items: rows.map(recordOf), total: Number(counted?.n ?? 0) };
  }

  async prune(before: number): Promise<number> {
    const deleted = await this.#db
      .deleteFrom('x402_discovery')
      .where('last_updated', '<', String(before))
      .executeTakeFirst();
    return Number(deleted.numDeletedRows);
  }
}

function recordOf(row: DiscoveryTable): DiscoveryRecord {
  const rest = JSON.parse(row.entry) as Omit<DiscoveryEntry, 'key' | 'payTo'>;
  return {
    ...rest,
    key: row.key,
    payTo: row.pay_to,
    transaction: row.txid,
    firstSeen: Number(row.first_seen),
    lastUpdated: Number(row.last_updated),
  };
}
