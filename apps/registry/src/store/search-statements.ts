/**
 * The statements behind a search: the keys of one page (after a cursor, or at an offset) and the total, each shaped
 * so an index answers it (see search-indexes.ts for the indexes).
 *
 * Most searches walk a sort order's covering index and stop after a page: on registry_accepts when there is a
 * payment filter and no words (its rows carry copies of their listing's status, method and sort keys; DISTINCT
 * keeps a listing with several matching options once), else on registry_listings, with full text from FTS5
 * (SQLite) or the tsvector's GIN index (PostgreSQL). On SQLite the filter's columns are written `+column` so the
 * planner walks rather than starting from them. A selective payment filter is the exception: the store's capped
 * read of its index already found every matching listing (the candidates), so those are looked up by primary key
 * and sorted, whatever the planners would estimate for the filter.
 * @module
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Dialect, RegistryDatabase } from './schema.js';
import {
  amountKey,
  type CursorKey,
  filtersOptions,
  ftsMatch,
  type SearchQuery,
  searchWords,
  shownStatuses,
  tsQuery,
} from './search.js';

/** Where a page starts: after a cursor, or at an offset. */
export type PageStart = { readonly cursor?: CursorKey; readonly offset?: number };

/** One page row: the listing's id and both sort keys, for the next cursor. */
export type PageKey = {
  readonly id: string;
  readonly created_at: number | string | bigint;
  readonly price_key: string;
};

/** Whether a search runs on the payment options alone (see the module comment). */
export function runsOnOptions(query: SearchQuery): boolean {
  return filtersOptions(query) && searchWords(query.q).length === 0;
}

/** The columns a search reads, on the listings or on the options' copies of them. */
type Source = {
  readonly table: 'registry_listings' | 'registry_accepts';
  readonly id: string;
  readonly createdAt: string;
  readonly priceKey: string;
  readonly status: string;
  readonly method: string;
};

const LISTINGS: Source = {
  table: 'registry_listings',
  id: 'registry_listings.id',
  createdAt: 'registry_listings.created_at',
  priceKey: 'registry_listings.amount_key',
  status: 'registry_listings.status',
  method: 'registry_listings.method',
};

const OPTIONS: Source = {
  table: 'registry_accepts',
  id: 'registry_accepts.listing_id',
  createdAt: 'registry_accepts.listing_created_at',
  priceKey: 'registry_accepts.listing_price_key',
  status: 'registry_accepts.listing_status',
  method: 'registry_accepts.listing_method',
};

/** A column reference, or `+column` on SQLite when the planner must not drive the statement from it. */
const column = (name: string, walk: boolean) => (walk ? sql.raw(`+${name}`) : sql.ref(name));

const all = (conditions: RawBuilder<SqlBool>[]) =>
  sql<SqlBool>`(${sql.join(conditions, sql` and `)})`;

/** The status and method conditions, on the listing or on an option's copies. */
function listingConditions(query: SearchQuery, source: Source, walk: boolean) {
  const conditions = [
    sql<SqlBool>`${column(source.status, walk)} in (${sql.join(shownStatuses(query))})`,
  ];
  if (query.method) conditions.push(sql<SqlBool>`${column(source.method, walk)} = ${query.method}`);
  return conditions;
}

/** The payment-option conditions, on the registry_accepts row named `alias`; all hold for one and the same option. */
function optionConditions(query: SearchQuery, alias: string, walk: boolean) {
  const conditions: RawBuilder<SqlBool>[] = [];
  const equal = (name: string, value: string | undefined) => {
    if (value) conditions.push(sql<SqlBool>`${column(`${alias}.${name}`, walk)} = ${value}`);
  };
  equal('network', query.network);
  equal('asset', query.asset);
  equal('symbol', query.symbol);
  equal('pay_to', query.payTo);
  if (query.maxAmount !== undefined) {
    const key = amountKey(query.maxAmount);
    conditions.push(sql<SqlBool>`${column(`${alias}.amount_key`, walk)} <= ${key}`);
  }
  return conditions;
}

/** The conditions of a search on the options, for the store's capped count of how many rows match. */
export function optionsSample(query: SearchQuery): RawBuilder<SqlBool> {
  return all([
    ...listingConditions(query, OPTIONS, false),
    ...optionConditions(query, 'registry_accepts', false),
  ]);
}

/** The full-text condition on registry_listings. */
function fullText(words: string[], dialect: Dialect, walk: boolean) {
  if (dialect === 'sqlite') {
    return sql<SqlBool>`${column('registry_listings.rowid', walk)} in (select rowid from registry_search where registry_search match ${ftsMatch(words)})`;
  }
  return sql<SqlBool>`registry_listings.search @@ to_tsquery('simple', ${tsQuery(words)})`;
}

/**
 * Every condition of a search on registry_listings. `drive` names what the SQLite planner should start from: the
 * sort order's index (`order`: every filter column is hinted away), the full-text matches (`words`), or the
 * `candidates` (the listings a selective payment filter matched, found by the store's capped sample), looked up by
 * primary key. PostgreSQL gets no hints.
 */
function listingsWhere(
  query: SearchQuery,
  dialect: Dialect,
  drive: 'order' | 'words' | 'candidates',
  candidates?: readonly string[],
) {
  const sqlite = dialect === 'sqlite';
  const words = searchWords(query.q);
  // With the default statuses, the status index covers most of the table: never a place to start.
  const conditions = listingConditions(
    query,
    LISTINGS,
    sqlite && (drive !== 'words' || words.length > 0),
  );
  if (words.length > 0) conditions.push(fullText(words, dialect, sqlite && drive !== 'words'));
  if (candidates) {
    // Every listing with a matching option, so the payment filter needs no other test. SQLite is handed the same
    // set as a subquery, which it expects to be small and drives from; with a literal list it may prefer to scan a
    // small table's covering index.
    conditions.push(
      sqlite
        ? sql<SqlBool>`registry_listings.id in (select registry_accepts.listing_id from registry_accepts where ${optionsSample(query)})`
        : sql<SqlBool>`registry_listings.id in (${sql.join(candidates)})`,
    );
  } else if (filtersOptions(query)) {
    // Probed per listing through the options' primary key (listing_id, position).
    conditions.push(
      sql<SqlBool>`exists (select 1 from registry_accepts as offered where offered.listing_id = registry_listings.id and ${all(optionConditions(query, 'offered', false))})`,
    );
  }
  return conditions;
}

/** Rows strictly after the cursor in the sort order, as a row comparison an index range can start from. */
function afterCursor(sort: SearchQuery['sort'], cursor: CursorKey, source: Source) {
  return sort === 'newest'
    ? sql<SqlBool>`(${sql.ref(source.createdAt)}, ${sql.ref(source.id)}) < (${cursor.key}, ${cursor.id})`
    : sql<SqlBool>`(${sql.ref(source.priceKey)}, ${sql.ref(source.id)}) > (${cursor.key}, ${cursor.id})`;
}

function orderBy(sort: SearchQuery['sort'], source: Source) {
  return sort === 'newest'
    ? sql`${sql.ref(source.createdAt)} desc, ${sql.ref(source.id)} desc`
    : sql`${sql.ref(source.priceKey)} asc, ${sql.ref(source.id)} asc`;
}

/**
 * The keys of one page, in order: `limit` rows from `start`. Without `candidates`, the page is found by walking
 * the sort order; with them (a selective payment filter's matches), by looking them up and sorting them.
 * @example
 * ```ts
 * const keys = await pageKeys(db, 'sqlite', { asset: 'STX', sort: 'price', limit: 20 }, 21, {});
 * ```
 */
export async function pageKeys(
  db: Kysely<RegistryDatabase>,
  dialect: Dialect,
  query: SearchQuery,
  limit: number,
  start: PageStart,
  candidates?: readonly string[],
): Promise<PageKey[]> {
  const onOptions = runsOnOptions(query) && !candidates;
  const source = onOptions ? OPTIONS : LISTINGS;
  const hint = dialect === 'sqlite';
  const conditions = onOptions
    ? [
        ...listingConditions(query, OPTIONS, hint),
        ...optionConditions(query, 'registry_accepts', hint),
      ]
    : listingsWhere(query, dialect, candidates ? 'candidates' : 'order', candidates);
  if (start.cursor) conditions.push(afterCursor(query.sort, start.cursor, source));
  const keys = sql`${sql.raw(onOptions ? 'distinct ' : '')}${sql.ref(source.id)} as id, ${sql.ref(source.createdAt)} as created_at, ${sql.ref(source.priceKey)} as price_key`;
  const page = sql`limit ${limit} offset ${start.offset ?? 0}`;
  if (candidates && dialect === 'postgres') {
    // PostgreSQL cannot see that a filter and the sort order are correlated (every sBTC price is below most STX
    // prices), so it might walk the order for a few candidates too; collecting them first rules that out.
    const result = await sql<PageKey>`with matches as materialized (
        select ${keys} from ${sql.table(source.table)} where ${all(conditions)}
      )
      select id, created_at, price_key from matches
      order by ${query.sort === 'newest' ? sql`created_at desc, id desc` : sql`price_key asc, id asc`}
      ${page}`.execute(db);
    return result.rows;
  }
  const result = await sql<PageKey>`select ${keys} from ${sql.table(source.table)}
    where ${all(conditions)}
    order by ${orderBy(query.sort, source)}
    ${page}`.execute(db);
  return result.rows;
}

/**
 * How many listings a search matches, from indexes: the status and method index; the FTS index (a words-only
 * search in the default statuses on SQLite is its matches minus the delisted ones among them); or the options'
 * filter indexes, where a listing counts at its first matching option only.
 */
export async function countMatches(
  db: Kysely<RegistryDatabase>,
  dialect: Dialect,
  query: SearchQuery,
  candidates?: readonly string[],
): Promise<number> {
  const words = searchWords(query.q);
  const wordsOnly =
    words.length > 0 && !filtersOptions(query) && !query.method && !query.statuses?.length;
  if (dialect === 'sqlite' && wordsOnly) {
    const match = ftsMatch(words);
    const matched = await sql<{
      n: number;
    }>`select count(*) as n from registry_search where registry_search match ${match}`.execute(db);
    const delisted = await sql<{
      n: number;
    }>`select count(*) as n from registry_listings where status = 'delisted' and rowid in (select rowid from registry_search where registry_search match ${match})`.execute(
      db,
    );
    return Number(matched.rows[0]!.n) - Number(delisted.rows[0]!.n);
  }
  if (runsOnOptions(query) && !candidates) {
    // A listing counts at its first matching option: only options after the first (position > 0, read from the
    // index) are probed for an earlier match. SQLite does it in one pass over the filter's index; PostgreSQL gets
    // two counts, because priced as one its per-row probe looks costly enough to start JIT compilation.
    const matching = all([
      ...listingConditions(query, OPTIONS, false),
      ...optionConditions(query, 'registry_accepts', false),
    ]);
    const earlierMatch = sql<SqlBool>`exists (select 1 from registry_accepts as earlier
      where earlier.listing_id = registry_accepts.listing_id and earlier.position < registry_accepts.position
      and ${all(optionConditions(query, 'earlier', false))})`;
    const result =
      dialect === 'sqlite'
        ? await sql<{ n: number }>`select count(*) as n from registry_accepts
            where ${matching} and (registry_accepts.position = 0 or not ${earlierMatch})`.execute(
            db,
          )
        : await sql<{ n: string }>`select
            (select count(*) from registry_accepts where ${matching})
            - (select count(*) from registry_accepts
                where ${matching} and registry_accepts.position > 0 and ${earlierMatch})
            as n`.execute(db);
    return Number(result.rows[0]!.n);
  }
  const result = await sql<{
    n: number | string;
  }>`select count(*) as n from registry_listings where ${all(listingsWhere(query, dialect, candidates ? 'candidates' : 'words', candidates))}`.execute(
    db,
  );
  return Number(result.rows[0]!.n);
}
