/**
 * The registry's tables as Kysely types. Timestamps are epoch milliseconds in int8 columns. Amounts are decimal text,
 * plus a zero-padded copy (`amount_key`, 39 digits: 2^128 fits) so that price filters and sorting compare exactly as
 * text in both databases.
 * @module
 */

/** Which database a store talks to; the only place the SQL differs is search and claiming. */
export type Dialect = 'sqlite' | 'postgres';

/** int8 columns: PostgreSQL returns them as strings, SQLite as numbers. */
type Int8 = number | string | bigint;

export type ListingsTable = {
  id: string;
  url: string;
  method: string;
  name: string;
  description: string;
  /** The first payment option's terms, for filters and price sorting; all options are in registry_accepts. */
  network: string;
  asset: string;
  amount: string;
  amount_key: string;
  pay_to: string;
  x402_version: number;
  paywall_verified: number;
  status: string;
  schema_hash: string;
  version: number;
  payto_changed_at: Int8 | null;
  created_at: Int8;
  updated_at: Int8;
  checked_at: Int8 | null;
  next_check_at: Int8;
  consecutive_failures: number;
  failing_since: Int8 | null;
  claimed_by: string | null;
  claimed_until: Int8 | null;
};

export type DocumentsTable = {
  listing_id: string;
  /** The NormalizedListing, as JSON. */
  document: string;
  /** Warnings from the last successful registration or check, as JSON. */
  findings: string;
};

export type AcceptsTable = {
  listing_id: string;
  position: number;
  network: string;
  asset: string;
  symbol: string | null;
  amount_key: string;
  pay_to: string;
  /**
   * Copies of the listing's status, method, creation time and sort price (its first option's amount key), kept in
   * step by the store, so a search with a payment filter is answered from these rows' indexes alone.
   */
  listing_status: string;
  listing_method: string;
  listing_created_at: Int8;
  listing_price_key: string;
};

export type VersionsTable = {
  listing_id: string;
  version: number;
  recorded_at: Int8;
  amount: string;
  asset: string;
  pay_to: string;
  schema_hash: string;
  document: string;
};

export type ChecksTable = {
  id: string;
  listing_id: string;
  checked_at: Int8;
  outcome: string;
  http_status: number | null;
  latency_ms: number | null;
  reason: string | null;
  status_after: string;
};

export type MigrationsTable = { version: number; applied_at: Int8 };

/**
 * Every table of the registry, by name: the Kysely database type the store and the migrations are written against.
 * @example
 * ```ts
 * const rows = await store.db.selectFrom('registry_listings').select(['url', 'status']).execute();
 * ```
 */
export type RegistryDatabase = {
  registry_listings: ListingsTable;
  registry_documents: DocumentsTable;
  registry_accepts: AcceptsTable;
  registry_versions: VersionsTable;
  registry_checks: ChecksTable;
  registry_migrations: MigrationsTable;
};
