/**
 * Opening the ledger on SQLite (one file, the service's default): WAL journaling so readers never block the writer,
 * every commit synced to disk (off the event loop) before any caller hears back, writes grouped into one commit per
 * event-loop turn (`sqlite-group-commit.ts`), a busy timeout so two processes on one file wait for each other
 * instead of failing, and integers read back exactly.
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { type DiscoveryDatabase, discoveryUpToDate, migrateDiscovery } from './discovery-schema.js';
import type { QueryRunner } from './prepared.js';
import { type LedgerDatabase, ledgerUpToDate, migrateLedger } from './schema.js';
import { SqlChannelLedger } from './sql-channel-ledger.js';
import { SqlLedger } from './sql-ledger.js';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.js';

/** Pages of write-ahead log between two checkpoints (4 KiB each). */
const WAL_CHECKPOINT_PAGES = 10_000;

/**
 * Opens (creating if needed) a SQLite ledger file, migrates it, and returns the ledger and its channels with a `close()`.
 * @example
 * ```ts
 * const { ledger, close } = await openSqliteLedger({ path: './facilitator.db' });
 * ```
 */
export async function openSqliteLedger(options: { path: string; now?: () => number }): Promise<{
  ledger: SqlLedger;
  /** Batch-settlement channels, in the same database. */
  channels: SqlChannelLedger;
  db: Kysely<LedgerDatabase>;
  close(): Promise<void>;
}> {
  const database = new Database(options.path);
  database.pragma('busy_timeout = 5000');
  await useWriteAheadLog(database);
  // Under WAL, NORMAL syncs only at checkpoints: alone, a power loss could undo the last commits, and with them the
  // claim that stops a payment from being settled (and its resource served) twice. The group commit driver syncs the
  // WAL file after every commit, off the event loop, and nobody hears back from a commit (or reads what it wrote)
  // before that sync ends: what FULL promises, a commit that answered survives a power loss, without holding the
  // event loop for the disk (`sqlite-group-commit.ts`).
  database.pragma('synchronous = NORMAL');
  // A checkpoint copies every page the write-ahead log holds back into the file, inside the commit that crosses the
  // threshold, on the event loop. The hot pages (the table's tail, the in-flight index) are written again in nearly
  // every commit, so a checkpoint every 1,000 pages (SQLite's default) copied each many times over: it was half of all
  // commit time, and a fifth of the ledger's CPU per settlement. At 10,000 pages (typically 40 MiB of log between
  // checkpoints; more while another process's read holds one back) each copy stands for ten times the commits.
  database.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
  // Integers come back as bigint, so nonces and heights beyond 2^53 could never be rounded.
  database.defaultSafeIntegers(true);
  reusePreparedStatements(database);
  const wal = walSync(`${options.path}-wal`);
  const dialect = new GroupCommitSqliteDialect({ database, syncWal: wal.sync });
  const db = new Kysely<LedgerDatabase>({ dialect });
  const run: QueryRunner = (query) => dialect.execute(query);
  const discovery = db as unknown as Kysely<DiscoveryDatabase>;
  try {
    // A file that needs any step is migrated in one transaction, under the file's write lock: processes opening a new
    // file together wait for the first to finish, where a process that found the table already made would claim
    // before its unique indexes existed (two claims of one nonce both taken, and the index then failing to build).
    // An up-to-date file costs reads only: a restart beside a busy process need not win the write lock to open.
    if (!(await ledgerUpToDate(db)) || !(await discoveryUpToDate(discovery))) {
      await db.transaction().execute(async (trx) => {
        await migrateLedger(trx);
        await migrateDiscovery(trx as unknown as Kysely<DiscoveryDatabase>);
      });
    }
  } catch (error) {
    await db.destroy().catch(() => database.close());
    await wal.close();
    throw error;
  }
  return {
    ledger: new SqlLedger(db, {
      dialect: 'sqlite',
      run,
      ...(options.now ? { now: options.now } : {}),
    }),
    channels: new SqlChannelLedger(db, { run, read: (query) => dialect.readRemembered(query) }),
    db,
    close: async () => {
      await db.destroy();
      await wal.close();
    },
  };
}

/**
 * fsync of the WAL file on libuv's thread pool. The file is opened at the first sync: SQLite creates it with the first
 * write, and keeps that very file (truncated or rewritten, never replaced) while any connection to the database is
 * open, so one descriptor syncs every later commit.
 */
function walSync(path: string): { sync(): Promise<void>; close(): Promise<void> } {
  let file: Promise<FileHandle> | undefined;
  return {
    async sync() {
      file ??= open(path, 'r');
      await (await file).sync();
    },
    async close() {
      const opened = file;
      file = undefined;
      await (await opened?.catch(() => undefined))?.close();
    },
  };
}

/**
 * Switches the file to WAL. Processes opening a new file together race for the switch, and SQLite answers the loser
 * SQLITE_BUSY at once, without waiting out the busy timeout: it tries again for a few seconds.
 */
async function useWriteAheadLog(database: Database.Database): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      database.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    }
  }
}

/** The ledger runs a few dozen distinct statements; more than this means something is building SQL it should not. */
const MAX_STATEMENTS = 256;

/**
 * Kysely prepares every query afresh, and preparing costs more than running these small indexed queries. The
 * ledger's SQL is a fixed set of shapes with bound parameters, so each shape is prepared once and reused. better-sqlite3
 * runs statements synchronously, so a reused statement is never busy with another query.
 */
function reusePreparedStatements(database: Database.Database): void {
  const prepare = database.prepare.bind(database);
  const prepared = new Map<string, Database.Statement>();
  database.prepare = ((source: string) => {
    let statement = prepared.get(source);
    if (!statement) {
      statement = prepare(source);
      if (prepared.size >= MAX_STATEMENTS) prepared.clear();
      prepared.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
}
