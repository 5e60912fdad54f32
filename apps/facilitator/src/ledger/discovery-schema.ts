/**
 * The discovery catalog's table, kept apart from the settlement tables: its own Kysely type and its own migration,
 * run after the ledger's at every start. It returns at once when the table is there.
 * @module
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** One catalogued resource. JSON columns are text; times are epoch ms as int8. */
export type DiscoveryTable = {
  key: string;
  pay_to: string;
  network: string;
  resource: string;
  type: string;
  /** The settlement that last paid for the entry. */
  txid: string;
  /** JSON: the entry without its key and payTo (accepts, description, declaration, …). */
  entry: string;
  bytes: number | bigint;
  first_seen: string | bigint;
  last_updated: string | bigint;
};

export type DiscoveryDatabase = { x402_discovery: DiscoveryTable };

/** Creates the table and its indexes if they do not exist; touches nothing when they do. */
export async function migrateDiscovery(db: Kysely<DiscoveryDatabase>): Promise<void> {
  if (await discoveryUpToDate(db)) return;
  await db.schema
    .createTable('x402_discovery')
    .ifNotExists()
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('pay_to', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('txid', 'text', (c) => c.notNull())
    .addColumn('entry', 'text', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_updated', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('x402_discovery_pay_to')
    .ifNotExists()
    .on('x402_discovery')
    .column('pay_to')
    .execute();
  await db.schema
    .createIndex('x402_discovery_last_updated')
    .ifNotExists()
    .on('x402_discovery')
    .column('last_updated')
    .execute();
}

/** Whether {@link migrateDiscovery} has nothing to do: its table is there. */
export async function discoveryUpToDate(db: Kysely<DiscoveryDatabase>): Promise<boolean> {
  const { rows } =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_name = 'x402_discovery'`.execute(db)
      : await sql<{ name: string }>`select name from sqlite_master
          where type = 'table' and name = 'x402_discovery'`.execute(db);
  return rows.length > 0;
}
