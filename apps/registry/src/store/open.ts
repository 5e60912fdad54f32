/**
 * Opening the store: SQLite (one file, WAL, a busy timeout) or PostgreSQL (a pool, migrations under an advisory
 * lock so instances starting together do not race), chosen by the configuration.
 * @module
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateRegistry, type RegistryDatabase } from './schema.js';
import { RegistryStore } from './store.js';

/**
 * Where the registry keeps its data: a SQLite file, or a PostgreSQL URL with an optional schema of its own.
 * @example
 * ```ts
 * const target: DatabaseTarget = { kind: 'postgres', url: 'postgres://registry@db/x402', schema: 'registry' };
 * ```
 */
export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string };

/**
 * An open store and how to close it.
 * @example
 * ```ts
 * const opened: OpenedStore = await openRegistryStore({ kind: 'sqlite', path: ':memory:' });
 * await opened.close();
 * ```
 */
export type OpenedStore = { readonly store: RegistryStore; close(): Promise<void> };

// Any constant works; it only has to differ from the facilitator's so the two never wait on each other.
const MIGRATION_LOCK = 4_020_403;

/**
 * Opens (creating and migrating as needed) the registry store.
 * @example
 * ```ts
 * const { store, close } = await openRegistryStore({ kind: 'sqlite', path: './registry.db' });
 * ```
 */
export async function openRegistryStore(target: DatabaseTarget): Promise<OpenedStore> {
  if (target.kind === 'sqlite') {
    const database = new Database(target.path);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    const db = new Kysely<RegistryDatabase>({ dialect: new SqliteDialect({ database }) });
    await db.transaction().execute((trx) => migrateRegistry(trx, 'sqlite'));
    return { store: new RegistryStore(db, 'sqlite'), close: () => db.destroy() };
  }
  const { schema } = target;
  const pool = new pg.Pool({
    connectionString: target.url,
    max: 10,
    // Set on each new connection rather than as a startup option, which a URL's own `?options=` would replace
    // (node-postgres lets the URL win): the store would have used the default schema's tables instead.
    ...(schema
      ? {
          onConnect: async (client: pg.ClientBase) => {
            await client.query(`set search_path to "${schema.replaceAll('"', '""')}"`);
          },
        }
      : {}),
  });
  // An idle connection the server ends (a restart, a failover, idle_session_timeout) is reported here and dropped from
  // the pool, which opens another when needed. Unheard, the event would end the whole process.
  pool.on('error', () => undefined);
  const db = new Kysely<RegistryDatabase>({ dialect: new PostgresDialect({ pool }) });
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
    if (target.schema) await sql`create schema if not exists ${sql.id(target.schema)}`.execute(trx);
    await migrateRegistry(trx, 'postgres');
  });
  return { store: new RegistryStore(db, 'postgres'), close: () => db.destroy() };
}
