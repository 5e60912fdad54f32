/**
 * Opening the ledger on SQLite (one file, the service's default): WAL journaling so readers never block the writer,
 * a busy timeout so two processes on one file wait for each other instead of failing, and integers read back exactly.
 * @module
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { type LedgerDatabase, migrateLedger } from './schema.js';
import { SqlLedger } from './sql-ledger.js';

/**
 * Opens (creating if needed) a SQLite ledger file, migrates it, and returns the ledger with a `close()`.
 * @example
 * ```ts
 * const { ledger, close } = await openSqliteLedger({ path: './facilitator.db' });
 * ```
 */
export async function openSqliteLedger(options: {
  path: string;
  now?: () => number;
}): Promise<{ ledger: SqlLedger; db: Kysely<LedgerDatabase>; close(): Promise<void> }> {
  const database = new Database(options.path);
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  // Integers come back as bigint, so nonces and heights beyond 2^53 could never be rounded.
  database.defaultSafeIntegers(true);
  const db = new Kysely<LedgerDatabase>({ dialect: new SqliteDialect({ database }) });
  await migrateLedger(db);
  return {
    ledger: new SqlLedger(db, { dialect: 'sqlite', ...(options.now ? { now: options.now } : {}) }),
    db,
    close: () => db.destroy(),
  };
}
