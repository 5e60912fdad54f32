/**
 * Migration 3: the columns and indexes that let every supported search (keyword, network, asset, maximum price,
 * payTo, method, status; newest or cheapest first; the discovery route's offset pages) find its page and its total
 * from indexes, without reading the listings table from end to end.
 *
 * A payment filter matches a listing's options, in registry_accepts, while the status, method and sort keys are the
 * listing's. Joining the two meant one listing lookup per matching option (70,000 for `asset=STX` at 100,000
 * listings), so each option row now carries copies of its listing's status, method, creation time and sort price,
 * and a filtered search runs on registry_accepts alone. Every statement here is idempotent (`if not exists`, a
 * column added only when missing), so a database an operator already patched by hand migrates too.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect, RegistryDatabase } from './tables.js';

/** One index: its name, and the statement that creates it when it is missing. */
export type SearchIndex = { readonly name: string; create(dialect: Dialect): string };

const index = (name: string, table: string, columns: readonly string[]): SearchIndex => ({
  name,
  create: () => `create index if not exists ${name} on ${table} (${columns.join(', ')})`,
});

// What a search tests, in the index itself, so rows that fail never cost a table read.
const OPTION_COLUMNS = ['network', 'asset', 'symbol', 'amount_key', 'pay_to'];
const LISTING_COLUMNS = ['listing_status', 'listing_method', 'position'];

// Kept narrow: an index as wide as the table loses to a sequential scan in PostgreSQL's costing. The page of a
// selective filter reads its few rows' sort keys from the table, and a payee, when filtered on, leads its own.
const filterIndex = (lead: string) =>
  index(`registry_accepts_${lead}_filters`, 'registry_accepts', [
    lead,
    'amount_key',
    ...['network', 'asset', 'symbol'].filter((name) => name !== lead),
    ...LISTING_COLUMNS,
    'listing_id',
  ]);

export const SEARCH_INDEXES: readonly SearchIndex[] = [
  // Counts without a payment filter: the statuses asked for, then the method.
  index('registry_listings_status_method', 'registry_listings', ['status', 'method']),
  // The two orders, covering what a page without a payment filter tests and returns.
  index('registry_listings_newest_filters', 'registry_listings', [
    'created_at',
    'id',
    'status',
    'method',
    'amount_key',
  ]),
  index('registry_listings_price_filters', 'registry_listings', [
    'amount_key',
    'id',
    'status',
    'method',
    'created_at',
  ]),
  // A selective payment filter drives from its own column (an asset, a symbol, a network, a payee), then the
  // amount range; the other conditions are tested in the index.
  filterIndex('asset'),
  filterIndex('symbol'),
  filterIndex('network'),
  filterIndex('pay_to'),
  // A broad payment filter walks a sort order instead and stops after a page.
  index('registry_accepts_newest', 'registry_accepts', [
    'listing_created_at',
    'listing_id',
    ...LISTING_COLUMNS,
    ...OPTION_COLUMNS,
    'listing_price_key',
  ]),
  index('registry_accepts_price', 'registry_accepts', [
    'listing_price_key',
    'listing_id',
    ...LISTING_COLUMNS,
    ...OPTION_COLUMNS,
    'listing_created_at',
  ]),
];

// Each is a leading part of one of the indexes above, so it only cost writes. registry_listings_status stays: its
// entries end in the rowid, so "delisted among these full-text matches" is a seek per match.
const SUPERSEDED = [
  'registry_listings_newest',
  'registry_listings_price',
  'registry_accepts_asset',
  'registry_accepts_symbol',
  'registry_accepts_network',
];

async function addColumnIfMissing(
  db: Kysely<RegistryDatabase>,
  dialect: Dialect,
  column: string,
  definition: string,
): Promise<void> {
  if (dialect === 'postgres') {
    await sql
      .raw(`alter table registry_accepts add column if not exists ${column} ${definition}`)
      .execute(db);
    return;
  }
  const columns = await sql<{ name: string }>`pragma table_info(registry_accepts)`.execute(db);
  if (columns.rows.some((row) => row.name === column)) return;
  await sql.raw(`alter table registry_accepts add column ${column} ${definition}`).execute(db);
}

/** Migration 3; see the module comment. */
export async function addSearchIndexes(
  db: Kysely<RegistryDatabase>,
  dialect: Dialect,
): Promise<void> {
  // PostgreSQL text sorts by locale; the price key must compare byte by byte, like amount_key.
  const keyType = dialect === 'postgres' ? 'text collate "C"' : 'text';
  await addColumnIfMissing(db, dialect, 'listing_status', "text not null default ''");
  await addColumnIfMissing(db, dialect, 'listing_method', "text not null default ''");
  await addColumnIfMissing(db, dialect, 'listing_created_at', 'bigint not null default 0');
  await addColumnIfMissing(db, dialect, 'listing_price_key', `${keyType} not null default ''`);
  await sql`update registry_accepts set
      listing_status = registry_listings.status,
      listing_method = registry_listings.method,
      listing_created_at = registry_listings.created_at,
      listing_price_key = registry_listings.amount_key
    from registry_listings where registry_listings.id = registry_accepts.listing_id`.execute(db);
  for (const name of SUPERSEDED) await sql.raw(`drop index if exists ${name}`).execute(db);
  for (const searchIndex of SEARCH_INDEXES) {
    await sql.raw(searchIndex.create(dialect)).execute(db);
  }
}
