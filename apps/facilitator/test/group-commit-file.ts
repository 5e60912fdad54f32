/**
 * A ledger file for the group-commit tests: WAL, `synchronous = FULL`, bigint integers, a Kysely over the group-commit
 * dialect with the ledger's tables, in a directory of the caller's.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { type LedgerDatabase, migrateLedger } from '../src/ledger/schema.js';
import { GroupCommitSqliteDialect } from '../src/ledger/sqlite-group-commit.js';

let files = 0;

export async function openGroupCommitFile(dir: string) {
  const path = join(dir, `group-commit-${files++}.db`);
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.defaultSafeIntegers(true);
  const dialect = new GroupCommitSqliteDialect({ database });
  const db = new Kysely<LedgerDatabase>({ dialect });
  await migrateLedger(db);
  return { path, dialect, db };
}
