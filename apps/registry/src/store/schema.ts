/**
 * The numbered migrations that create the registry's tables (tables.ts) on SQLite and PostgreSQL.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import { addSearchIndexes } from './search-indexes.js';
import type { Dialect, RegistryDatabase } from './tables.js';

// The table types live in tables.ts, which the search indexes import without the migrations; the ones other modules
// use stay importable from here.
export type { Dialect, ListingsTable, RegistryDatabase } from './tables.js';

type Migration = (db: Kysely<RegistryDatabase>, dialect: Dialect) => Promise<void>;

const MIGRATIONS: readonly Migration[] = [
  async function createTables(db, dialect) {
    // PostgreSQL text sorts by locale; the padded amounts must compare byte by byte.
    const keyType = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
    await db.schema
      .createTable('registry_listings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('network', 'text', (c) => c.notNull())
      .addColumn('asset', 'text', (c) => c.notNull())
      .addColumn('amount', 'text', (c) => c.notNull())
      .addColumn('amount_key', keyType, (c) => c.notNull())
      .addColumn('pay_to', 'text', (c) => c.notNull())
      .addColumn('x402_version', 'integer', (c) => c.notNull())
      .addColumn('paywall_verified', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('schema_hash', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('payto_changed_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('checked_at', 'bigint')
      .addColumn('next_check_at', 'bigint', (c) => c.notNull())
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull())
      .addColumn('failing_since', 'bigint')
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_until', 'bigint')
      .addUniqueConstraint('registry_listings_key', ['url', 'method'])
      .execute();
    // The directory's two orders end in id, so cursor pages are stable. Most listings pass the default status
    // filter, so walking an order's index and skipping the few delisted rows beats sorting by status first.
    await db.schema
      .createIndex('registry_listings_newest')
      .on('registry_listings')
      .columns(['created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('registry_listings_price')
      .on('registry_listings')
      .columns(['amount_key', 'id'])
      .execute();
    // Counts of the default listing (every status but delisted) come from this index alone.
    await db.schema
      .createIndex('registry_listings_status')
      .on('registry_listings')
      .column('status')
      .execute();
    await db.schema
      .createIndex('registry_listings_due')
      .on('registry_listings')
      .column('next_check_at')
      .execute();
    // The JSON lives apart from the listing row, so scans and counts over listings read small rows only.
    await db.schema
      .createTable('registry_documents')
      .addColumn('listing_id', 'text', (c) =>
        c.primaryKey().references('registry_listings.id').onDelete('cascade'),
      )
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('findings', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('registry_accepts')
      .addColumn('listing_id', 'text', (c) =>
        c.notNull().references('registry_listings.id').onDelete('cascade'),
      )
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('network', 'text', (c) => c.notNull())
      .addColumn('asset', 'text', (c) => c.notNull())
      .addColumn('symbol', 'text')
      .addColumn('amount_key', keyType, (c) => c.notNull())
      .addColumn('pay_to', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('registry_accepts_pk', ['listing_id', 'position'])
      .execute();
    // Filters name an asset (by id or symbol), maybe a maximum amount, maybe a network: the asset, then the amount
    // range (usable with or without a network), then the network and the listing id, so the filter is answered
    // from the index alone.
    await db.schema
      .createIndex('registry_accepts_asset')
      .on('registry_accepts')
      .columns(['asset', 'amount_key', 'network', 'listing_id'])
      .execute();
    await db.schema
      .createIndex('registry_accepts_symbol')
      .on('registry_accepts')
      .columns(['symbol', 'amount_key', 'network', 'listing_id'])
      .execute();
    await db.schema
      .createIndex('registry_accepts_network')
      .on('registry_accepts')
      .columns(['network', 'amount_key', 'listing_id'])
      .execute();
    await db.schema
      .createTable('registry_versions')
      .addColumn('listing_id', 'text', (c) =>
        c.notNull().references('registry_listings.id').onDelete('cascade'),
      )
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('recorded_at', 'bigint', (c) => c.notNull())
      .addColumn('amount', 'text', (c) => c.notNull())
      .addColumn('asset', 'text', (c) => c.notNull())
      .addColumn('pay_to', 'text', (c) => c.notNull())
      .addColumn('schema_hash', 'text', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('registry_versions_pk', ['listing_id', 'version'])
      .execute();
    await db.schema
      .createTable('registry_checks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('listing_id', 'text', (c) =>
        c.notNull().references('registry_listings.id').onDelete('cascade'),
      )
      .addColumn('checked_at', 'bigint', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('latency_ms', 'integer')
      .addColumn('reason', 'text')
      .addColumn('status_after', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('registry_checks_listing')
      .on('registry_checks')
      .columns(['listing_id', 'checked_at'])
      .execute();
  },

  async function fullTextSearch(db, dialect) {
    if (dialect === 'sqlite') {
      // An external-content FTS5 index over the listings, kept in step by triggers.
      await sql`create virtual table registry_search using fts5(name, description, url, content='registry_listings', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`.execute(
        db,
      );
      await sql`create trigger registry_search_insert after insert on registry_listings begin
        insert into registry_search(rowid, name, description, url) values (new.rowid, new.name, new.description, new.url);
      end`.execute(db);
      await sql`create trigger registry_search_delete after delete on registry_listings begin
        insert into registry_search(registry_search, rowid, name, description, url) values ('delete', old.rowid, old.name, old.description, old.url);
      end`.execute(db);
      await sql`create trigger registry_search_update after update of name, description, url on registry_listings begin
        insert into registry_search(registry_search, rowid, name, description, url) values ('delete', old.rowid, old.name, old.description, old.url);
        insert into registry_search(rowid, name, description, url) values (new.rowid, new.name, new.description, new.url);
      end`.execute(db);
      return;
    }
    // The URL's punctuation becomes spaces so its path words are searchable, as FTS5's tokenizer does.
    await sql`alter table registry_listings add column search tsvector generated always as (
      to_tsvector('simple', name || ' ' || description || ' ' || regexp_replace(url, '[^[:alnum:]]+', ' ', 'g'))
    ) stored`.execute(db);
    await sql`create index registry_listings_search on registry_listings using gin (search)`.execute(
      db,
    );
  },

  addSearchIndexes,
];

/** The schema version the code expects: the number of migrations. */
export const REGISTRY_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the tables up to date, applying each migration not yet recorded. Run it inside a transaction, under a lock
 * when several instances share a PostgreSQL. `version` stops at an earlier schema, so tests can build the
 * databases that older releases left behind and check that they migrate forward.
 * @example
 * ```ts
 * await db.transaction().execute((trx) => migrateRegistry(trx, 'sqlite'));
 * ```
 */
export async function migrateRegistry(
  db: Kysely<RegistryDatabase>,
  dialect: Dialect,
  version = REGISTRY_SCHEMA_VERSION,
): Promise<void> {
  await db.schema
    .createTable('registry_migrations')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .execute();
  const applied = new Set(
    (await db.selectFrom('registry_migrations').select('version').execute()).map((row) =>
      Number(row.version),
    ),
  );
  for (const [index, migration] of MIGRATIONS.slice(0, version).entries()) {
    const number = index + 1;
    if (applied.has(number)) continue;
    await migration(db, dialect);
    await db
      .insertInto('registry_migrations')
      .values({ version: number, applied_at: Date.now() })
      .execute();
  }
}
