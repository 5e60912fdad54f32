/**
 * The registry's storage over Kysely: registrations with their version history, checks, discovery queries, and
 * the scheduler's claims. SQLite and PostgreSQL share this code; only full-text search and the claim's row locking
 * differ.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Finding } from '../findings.js';
import type { ListingStatus, NormalizedListing } from '../listing.js';
import type { CheckOutcome, NextHealth } from '../monitor/policy.js';
import {
  acceptRows,
  documentColumns,
  insertCheck,
  type ListingRow,
  listingColumns,
  schemaHash,
  setListingStatus,
  toStored,
  withDocument,
  writeDocument,
} from './rows.js';
import type { Dialect, RegistryDatabase } from './schema.js';
import { decodeCursor, encodeCursor, filtersOptions, type SearchQuery } from './search.js';
import { countMatches, optionsSample, pageKeys, runsOnOptions } from './search-statements.js';
import type {
  Change,
  CheckRecord,
  CheckResult,
  ListingVersion,
  StoredListing,
  Uptime,
} from './types.js';

const DAY = 24 * 60 * 60_000;

// Above this many matching options, walking the sort order finds a page sooner than collecting every match.
const BROAD_FILTER_ROWS = 2000;

/**
 * The registry store.
 * @example
 * ```ts
 * const { store } = await openRegistryStore({ kind: 'sqlite', path: './registry.db' });
 * const page = await store.search({ q: 'weather', sort: 'newest', limit: 20 });
 * ```
 */
export class RegistryStore {
  constructor(
    readonly db: Kysely<RegistryDatabase>,
    readonly dialect: Dialect,
  ) {}

  /**
   * Stores a validated listing: a new row (pending, first check soon) or an update of the one with the same URL
   * and method, adding a version when the terms or the schema changed. The registration probe is stored as a check.
   */
  async register(
    listing: NormalizedListing,
    findings: readonly Finding[],
    probe: { status: number; latencyMs: number },
    now: number,
    firstCheckAt: number,
  ): Promise<{ stored: StoredListing; created: boolean; change: Change }> {
    const result = await this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('registry_listings')
        .values({
          ...listingColumns(listing),
          id: randomUUID(),
          status: 'pending',
          schema_hash: '',
          version: 0,
          created_at: now,
          updated_at: now,
          next_check_at: firstCheckAt,
          consecutive_failures: 0,
        })
        .onConflict((oc) => oc.columns(['url', 'method']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) {
        await trx
          .insertInto('registry_documents')
          .values({ listing_id: inserted.id, ...documentColumns(listing, findings) })
          .execute();
      }
      const row = await withDocument(trx)
        .where('registry_listings.url', '=', listing.url)
        .where('registry_listings.method', '=', listing.method)
        .executeTakeFirstOrThrow();
      const change = await writeDocument(trx, row, listing, findings, now);
      // A working re-registration is a good probe: a failing or delisted listing is active again.
      const status: ListingStatus = inserted || row.status === 'pending' ? 'pending' : 'active';
      await setListingStatus(trx, row.id, status, {
        consecutive_failures: 0,
        failing_since: null,
        checked_at: now,
      });
      await insertCheck(
        trx,
        row.id,
        now,
        {
          outcome: 'ok',
          httpStatus: probe.status,
          latencyMs: probe.latencyMs,
          reason: 'registration',
        },
        status,
      );
      return { id: row.id, created: inserted !== undefined, change };
    });
    return { stored: (await this.get(result.id))!, created: result.created, change: result.change };
  }

  /**
   * Inserts listings in bulk, each with its first version and no checks, in transactions of `chunk` rows: for
   * seeding (the benchmark) and for importing from another registry. Listings that exist already are skipped.
   */
  async importListings(
    entries: readonly {
      listing: NormalizedListing;
      status: ListingStatus;
      createdAt: number;
      nextCheckAt: number;
    }[],
    chunk = 500,
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < entries.length; start += chunk) {
      const rows = entries.slice(start, start + chunk).map((entry) => ({
        ...listingColumns(entry.listing),
        ...documentColumns(entry.listing, []),
        id: randomUUID(),
        status: entry.status,
        schema_hash: schemaHash(entry.listing),
        version: 1,
        created_at: entry.createdAt,
        updated_at: entry.createdAt,
        next_check_at: entry.nextCheckAt,
        consecutive_failures: 0,
      }));
      await this.db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('registry_listings')
          .values(rows.map(({ document: _, findings: __, ...row }) => row))
          .onConflict((oc) => oc.columns(['url', 'method']).doNothing())
          .returning('id')
          .execute();
        const kept = new Set(inserted.map((row) => row.id));
        const fresh = rows.filter((row) => kept.has(row.id));
        if (fresh.length === 0) return;
        await trx
          .insertInto('registry_documents')
          .values(
            fresh.map((row) => ({
              listing_id: row.id,
              document: row.document,
              findings: row.findings,
            })),
          )
          .execute();
        const documents = fresh.map((row) => JSON.parse(row.document) as NormalizedListing);
        await trx
          .insertInto('registry_accepts')
          .values(
            fresh.flatMap((row, i) =>
              acceptRows(row.id, documents[i]!, { status: row.status, createdAt: row.created_at }),
            ),
          )
          .execute();
        await trx
          .insertInto('registry_versions')
          .values(
            fresh.map((row) => ({
              listing_id: row.id,
              version: 1,
              recorded_at: row.created_at,
              amount: row.amount,
              asset: row.asset,
              pay_to: row.pay_to,
              schema_hash: row.schema_hash,
              document: row.document,
            })),
          )
          .execute();
        ids.push(...fresh.map((row) => row.id));
      });
    }
    return ids;
  }

  /** One listing by id. */
  async get(id: string): Promise<StoredListing | undefined> {
    const row = await withDocument(this.db)
      .where('registry_listings.id', '=', id)
      .executeTakeFirst();
    return row && toStored(row);
  }

  /** A listing's versions, newest first. */
  async versions(id: string): Promise<ListingVersion[]> {
    const rows = await this.db
      .selectFrom('registry_versions')
      .selectAll()
      .where('listing_id', '=', id)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((row) => ({
      version: Number(row.version),
      recordedAt: Number(row.recorded_at),
      amount: row.amount,
      asset: row.asset,
      payTo: row.pay_to,
      schemaHash: row.schema_hash,
    }));
  }

  /** A listing's most recent checks, newest first. */
  async checks(id: string, limit = 50): Promise<CheckRecord[]> {
    const rows = await this.db
      .selectFrom('registry_checks')
      .selectAll()
      .where('listing_id', '=', id)
      .orderBy('checked_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      checkedAt: Number(row.checked_at),
      outcome: row.outcome as CheckOutcome,
      httpStatus: row.http_status === null ? null : Number(row.http_status),
      latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
      reason: row.reason,
      statusAfter: row.status_after as ListingStatus,
    }));
  }

  /** Uptime over the last 24 hours and 7 days. */
  async uptime(id: string, now: number): Promise<{ day: Uptime; week: Uptime }> {
    const since = now - 7 * DAY;
    const rows = await this.db
      .selectFrom('registry_checks')
      .select(['checked_at', 'outcome'])
      .where('listing_id', '=', id)
      .where('checked_at', '>=', since)
      .execute();
    const count = (from: number) => {
      const recent = rows.filter((row) => Number(row.checked_at) >= from);
      return { ok: recent.filter((row) => row.outcome === 'ok').length, total: recent.length };
    };
    return { day: count(now - DAY), week: count(since) };
  }

  /** A page of the directory, with the total that matched and the cursor of the next page. */
  async search(
    query: SearchQuery,
  ): Promise<{ items: StoredListing[]; nextCursor: string | null; total: number }> {
    const cursor = query.cursor ? decodeCursor(query.cursor, query.sort) : undefined;
    // Keys first, rows after: the sort then never carries the JSON documents of the rows it discards.
    const { candidates, total: known } = await this.plan(query);
    if (candidates?.length === 0) return { items: [], nextCursor: null, total: 0 };
    const [found, total] = await Promise.all([
      pageKeys(this.db, this.dialect, query, query.limit + 1, { cursor }, candidates),
      known ?? countMatches(this.db, this.dialect, query, candidates),
    ]);
    const rows = await this.rowsInOrder(found.slice(0, query.limit).map((key) => key.id));
    const last = found.length > query.limit ? found[query.limit - 1] : undefined;
    return {
      items: rows.map(toStored),
      nextCursor: last
        ? encodeCursor({
            key: query.sort === 'newest' ? Number(last.created_at) : last.price_key,
            id: last.id,
          })
        : null,
      total,
    };
  }

  /** Offset paging, newest first, for the Bazaar-shaped discovery route. */
  async page(
    query: Omit<SearchQuery, 'cursor' | 'limit' | 'sort'>,
    limit: number,
    offset: number,
  ): Promise<{ items: StoredListing[]; total: number }> {
    const search: SearchQuery = { ...query, sort: 'newest', limit };
    const { candidates, total: known } = await this.plan(search);
    if (candidates?.length === 0) return { items: [], total: 0 };
    const [found, total] = await Promise.all([
      pageKeys(this.db, this.dialect, search, limit, { offset }, candidates),
      known ?? countMatches(this.db, this.dialect, search, candidates),
    ]);
    const rows = await this.rowsInOrder(found.map((key) => key.id));
    return { items: rows.map(toStored), total };
  }

  /**
   * How to find a page (see search-statements.ts): by walking the sort order, unless a payment filter is selective,
   * which a capped read of its covering index tells. That read then holds every listing the filter matches (the
   * candidates, looked up and sorted), and for a search on the options alone, the total as well.
   */
  private async plan(query: SearchQuery): Promise<{ candidates?: string[]; total?: number }> {
    if (!filtersOptions(query)) return {};
    const sample = await sql<{
      id: string;
    }>`select registry_accepts.listing_id as id from registry_accepts where ${optionsSample(query)} limit ${BROAD_FILTER_ROWS}`.execute(
      this.db,
    );
    if (sample.rows.length >= BROAD_FILTER_ROWS) return {};
    // A listing with several matching options is one candidate.
    const candidates = [...new Set(sample.rows.map((row) => row.id))];
    return runsOnOptions(query) ? { candidates, total: candidates.length } : { candidates };
  }

  /** Full rows for ids, in the order given. */
  private async rowsInOrder(ids: readonly string[]): Promise<ListingRow[]> {
    if (ids.length === 0) return [];
    const rows = await withDocument(this.db).where('registry_listings.id', 'in', ids).execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Claims up to `limit` listings whose check is due and that no live claim holds. The claim is one UPDATE, so two
   * instances can never hold the same listing; on PostgreSQL, rows another instance is claiming are skipped rather
   * than waited for.
   */
  async claimDue(
    now: number,
    options: { limit: number; owner: string; leaseMs: number },
  ): Promise<StoredListing[]> {
    let due = this.db
      .selectFrom('registry_listings')
      .select('id')
      .where('next_check_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .orderBy('next_check_at')
      .limit(options.limit);
    if (this.dialect === 'postgres') due = due.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('registry_listings')
      .set({ claimed_by: options.owner, claimed_until: now + options.leaseMs })
      .where('id', 'in', due)
      // Checked again on the row itself: on PostgreSQL a row claimed meanwhile fails this after its lock is released.
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .returning('id')
      .execute();
    return (await this.rowsInOrder(rows.map((row) => row.id))).map(toStored);
  }

  /**
   * Records a check of a claimed listing and its new health, and releases the claim. Does nothing and returns
   * undefined when the claim was lost (the lease ran out and another instance took it).
   */
  async completeCheck(
    id: string,
    owner: string,
    result: CheckResult,
    health: NextHealth,
    now: number,
  ): Promise<Change | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await withDocument(trx)
        .where('registry_listings.id', '=', id)
        .where('registry_listings.claimed_by', '=', owner)
        .executeTakeFirst();
      if (!row) return undefined;
      const change = result.listing
        ? await writeDocument(trx, row, result.listing, result.findings ?? [], now)
        : { version: false, payTo: false };
      await setListingStatus(trx, id, health.status, {
        consecutive_failures: health.consecutiveFailures,
        failing_since: health.failingSince,
        next_check_at: health.nextCheckAt,
        checked_at: now,
        claimed_by: null,
        claimed_until: null,
      });
      await insertCheck(trx, id, now, result, health.status);
      return change;
    });
  }

  /** How many listings there are, in every status. */
  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('registry_listings')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
