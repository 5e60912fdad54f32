/**
 * The statements behind a search: the keys of one page (after a cursor, or at an offset) and the total, each shaped
 * so an index answers it (see search-indexes.ts for the indexes).
 *
 * A search with a payment filter and no words runs on registry_accepts alone, whose rows carry copies of their
 * listing's status, method and sort keys; a listing with several matching options is kept once (DISTINCT for a
 * page; for the total, only the first matching option counts). Any other search runs on registry_listings, with
 * full text from FTS5 (SQLite) or the tsvector's GIN index (PostgreSQL) and a payment filter, if any, probed per row.
 *
 * `walk` (SQLite only) writes the filter's columns as `+column`, so the planner does not drive the statement from
 * them: it walks the sort order's covering index, tests each entry in the index and stops after a page. That is
 * right when many rows match; for a selective payment filter, driving from the filter's index and sorting the few
 * matches is right, so the store decides per query. PostgreSQL's planner weighs both itself.
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
 * sort order's index (`order`: every filter column is hinted away), the full-text matches (`words`), or a
 * selective payment filter's index (`options`). PostgreSQL gets no hints.
 */
function listingsWhere(query: SearchQuery, dialect: Dialect, drive: 'order' | 'words' | 'options') {
  const sqlite = dialect === 'sqlite';
  const words = searchWords(query.q);
  // With the default statuses, the status index covers most of the table: never a place to start.
  const conditions = listingConditions(
    query,
    LISTINGS,
    sqlite && (drive !== 'words' || words.length > 0),
  );
  if (words.length > 0) conditions.push(fullText(words, dialect, sqlite && drive !== 'words'));
  if (filtersOptions(query) && sqlite && drive === 'options') {
    conditions.push(
      sql<SqlBool>`registry_listings.id in (select registry_accepts.listing_id from registry_accepts where ${optionsSample(query)})`,
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
 * The keys of one page, in order: `limit` rows from `start`.
 * @example
 * ```ts
 * const keys = await pageKeys(db, 'sqlite', { asset: 'STX', sort: 'price', limit: 20 }, 21, {}, true);
 * ```
 */
export async function pageKeys(
  db: Kysely<RegistryDatabase>,
  dialect: Dialect,
  query: SearchQuery,
  limit: number,
  start: PageStart,
  walk: boolean,
): Promise<PageKey[]> {
  const onOptions = runsOnOptions(query);
  const source = onOptions ? OPTIONS : LISTINGS;
  const hint = dialect === 'sqlite' && walk;
  const conditions = onOptions
    ? [
        ...listingConditions(query, OPTIONS, hint),
        ...optionConditions(query, 'registry_accepts', hint),
      ]
    : listingsWhere(query, dialect, walk ? 'order' : 'options');
  if (start.cursor) conditions.push(afterCursor(query.sort, start.cursor, source));
  const keys = sql`${sql.raw(onOptions ? 'distinct ' : '')}${sql.ref(source.id)} as id, ${sql.ref(source.createdAt)} as created_at, ${sql.ref(source.priceKey)} as price_key`;
  const page = sql`limit ${limit} offset ${start.offset ?? 0}`;
  if (!walk && dialect === 'postgres') {
    // PostgreSQL cannot see that a filter and the sort order are correlated (every sBTC price is below most STX
    // prices), so it would walk the order for a selective filter too; collecting the matches first is how to
    // drive from the filter's index.
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
  selectiveOptions: boolean,
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
  if (runsOnOptions(query)) {
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
  }>`select count(*) as n from registry_listings where ${all(listingsWhere(query, dialect, selectiveOptions ? 'options' : 'words'))}`.execute(
    db,
  );
  return Number(result.rows[0]!.n);
}
