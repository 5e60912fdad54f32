/**
 * Databases made by the release before the search indexes (schema version 2) migrate forward when the registry
 * opens them, on a SQLite file and on the machine's PostgreSQL: every listing is kept and found as before, the
 * new indexes exist, an index an operator already created by hand does not stop the migration, and opening again
 * changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inSchema, testPostgresUrl } from '@x402-stacks/test-kit';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateRegistry, openRegistryStore, type RegistryDatabase } from '../src/index.js';
import { documentColumns, listingColumns, schemaHash } from '../src/store/rows.js';
import { amountKey } from '../src/store/search.js';
import { SEARCH_INDEXES } from '../src/store/search-indexes.js';
import { freshSchema } from './helpers.js';
import { type CorpusEntry, corpusListings, expectedIds } from './search-corpus.js';

const POSTGRES_URL = await testPostgresUrl();

const BEFORE_SEARCH_INDEXES = 2;
const LISTINGS = 300;

type Target = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

/** A database as the previous release left it: its two migrations, and listings as its store wrote them. */
async function previousReleaseDatabase(target: Target) {
  const db =
    target.kind === 'sqlite'
      ? new Kysely<RegistryDatabase>({
          dialect: new SqliteDialect({ database: new Database(target.path) }),
        })
      : new Kysely<RegistryDatabase>({
          dialect: new PostgresDialect({
            pool: new pg.Pool({
              connectionString: target.url,
              max: 1,
              onConnect: inSchema(target.schema),
            }),
          }),
        });
  if (target.kind === 'postgres') {
    await sql`create schema if not exists ${sql.id(target.schema)}`.execute(db);
  }
  await db.transaction().execute((trx) => migrateRegistry(trx, target.kind, BEFORE_SEARCH_INDEXES));
  // One of the new indexes made by hand beforehand, as an operator chasing a slow query might have.
  const [first] = SEARCH_INDEXES;
  await sql.raw(first!.create(target.kind)).execute(db);
  const corpus = corpusListings(LISTINGS).map((entry) => ({ ...entry, id: randomUUID() }));
  for (const entry of corpus) await insertAsVersion2(db, entry);
  await db.destroy();
  return corpus;
}

/** The rows the version 2 store wrote for a listing: its option rows had no copies of the listing's columns. */
async function insertAsVersion2(db: Kysely<RegistryDatabase>, entry: CorpusEntry) {
  const { listing } = entry;
  const hash = schemaHash(listing);
  await db
    .insertInto('registry_listings')
    .values({
      ...listingColumns(listing),
      id: entry.id,
      status: entry.status,
      schema_hash: hash,
      version: 1,
      created_at: entry.createdAt,
      updated_at: entry.createdAt,
      next_check_at: entry.createdAt,
      consecutive_failures: 0,
    })
    .execute();
  await db
    .insertInto('registry_documents')
    .values({ listing_id: entry.id, ...documentColumns(listing, []) })
    .execute();
  await sql`insert into registry_accepts (listing_id, position, network, asset, symbol, amount_key, pay_to) values ${sql.join(
    listing.accepts.map(
      (accept, position) =>
        sql`(${entry.id}, ${position}, ${accept.network}, ${accept.asset}, ${accept.symbol}, ${amountKey(accept.amount)}, ${accept.payTo})`,
    ),
  )}`.execute(db);
}

async function indexNames(target: Target, db: Kysely<RegistryDatabase>): Promise<string[]> {
  const result =
    target.kind === 'sqlite'
      ? await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index'`.execute(db)
      : await sql<{
          name: string;
        }>`select indexname as name from pg_indexes where schemaname = ${target.schema}`.execute(
          db,
        );
  return result.rows.map((row) => row.name);
}

function migrationTests(label: string, target: Target, cleanUp: () => Promise<void>) {
  describe(`a version 2 database on ${label}`, () => {
    after(cleanUp);

    test('migrates forward with every listing, gains the search indexes, and reopens unchanged', async () => {
      const corpus = await previousReleaseDatabase(target);
      const opened = await openRegistryStore(target);
      try {
        const { store } = opened;
        assert.equal(await store.count(), LISTINGS);
        const names = await indexNames(target, store.db);
        for (const index of SEARCH_INDEXES) assert.ok(names.includes(index.name), index.name);
        for (const sort of ['newest', 'price'] as const) {
          const page = await store.search({ asset: 'STX', sort, limit: 100 });
          assert.deepEqual(
            page.items.map((item) => item.id),
            expectedIds(corpus, { asset: 'STX', sort }).slice(0, 100),
          );
        }
        const words = await store.search({ q: 'weather', sort: 'newest', limit: 100 });
        assert.equal(words.total, expectedIds(corpus, { q: 'weather', sort: 'newest' }).length);
      } finally {
        await opened.close();
      }
      const again = await openRegistryStore(target);
      try {
        const versions = await again.store.db
          .selectFrom('registry_migrations')
          .select('version')
          .orderBy('version')
          .execute();
        assert.deepEqual(
          versions.map((row) => Number(row.version)),
          [1, 2, 3],
        );
        assert.equal(await again.store.count(), LISTINGS);
      } finally {
        await again.close();
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'x402-registry-migration-'));
migrationTests('a SQLite file', { kind: 'sqlite', path: join(dir, 'registry.db') }, async () =>
  rmSync(dir, { recursive: true, force: true }),
);

const schema = freshSchema();
migrationTests('PostgreSQL', { kind: 'postgres', url: POSTGRES_URL, schema }, async () => {
  const { store, close } = await openRegistryStore({ kind: 'postgres', url: POSTGRES_URL, schema });
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
  await close();
});
