/**
 * Opening the ledger on SQLite (one file, the service's default): WAL journaling so readers never block the writer,
 * every commit synced to disk before any caller hears back, writes grouped into one commit per event-loop turn
 * (`sqlite-group-commit.ts`), a busy timeout so two processes on one file wait for each other
 * instead of failing, and integers read back exactly.
 * @module
 */
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { type DiscoveryDatabase, migrateDiscovery } from './discovery-schema.js';
import { type LedgerDatabase, migrateLedger } from './schema.js';
import { SqlChannelLedger } from './sql-channel-ledger.js';
import { SqlLedger } from './sql-ledger.js';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.js';

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
  // better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL), which under WAL syncs only at checkpoints:
  // a power loss could undo the last commits, and with them the claim that stops a payment from being settled (and
  // its resource served) twice. FULL fsyncs the WAL at every commit, so a commit that returned survives.
  database.pragma('synchronous = FULL');
  // Integers come back as bigint, so nonces and heights beyond 2^53 could never be rounded.
  database.defaultSafeIntegers(true);
  reusePreparedStatements(database);
  // FULL makes each commit wait for the disk; group commit makes that one wait per event-loop turn, not per write.
  const db = new Kysely<LedgerDatabase>({ dialect: new GroupCommitSqliteDialect({ database }) });
  await migrateLedger(db);
  await migrateDiscovery(db as unknown as Kysely<DiscoveryDatabase>);
  return {
    ledger: new SqlLedger(db, { dialect: 'sqlite', ...(options.now ? { now: options.now } : {}) }),
    channels: new SqlChannelLedger(db),
    db,
    close: () => db.destroy(),
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
