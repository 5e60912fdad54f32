/**
 * Opening the ledger on PostgreSQL: a pool, the migration under an advisory lock (several instances may start at
 * once), and the SqlLedger.
 * @module
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type DiscoveryDatabase, migrateDiscovery } from './discovery-schema.js';
import { nameStatements, planEveryRun } from './named-statements.js';
import { forPayerLocks, migratePayerClaims } from './payer-claims.js';
import { LEDGER_MIGRATIONS, type LedgerDatabase } from './schema.js';
import { SqlChannelLedger } from './sql-channel-ledger.js';
import { SqlLedger } from './sql-ledger.js';

// int8 columns come back as strings (exact); turning them into bigint is the ledger's job.
const MIGRATION_LOCK = 4_020_402;

/**
 * Connects to PostgreSQL, creates the tables if needed, and returns the ledger and its channels with a `close()`.
 * @example
 * ```ts
 * const { ledger, close } = await openPostgresLedger({ connectionString: process.env.DATABASE_URL! });
 * ```
 */
export async function openPostgresLedger(options: {
  connectionString: string;
  schema?: string;
  now?: () => number;
}): Promise<{
  ledger: SqlLedger;
  /** Batch-settlement channels, in the same database. */
  channels: SqlChannelLedger;
  db: Kysely<LedgerDatabase>;
  close(): Promise<void>;
}> {
  const { schema } = options;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: 10,
    // The schema is a statement on each new connection, not a startup option: a `DATABASE_URL` with its own
    // `?options=` replaces the pool's (node-postgres lets the URL win), and this instance would have opened the
    // default schema's tables, a second ledger beside the one its peers share, where replays go unseen.
    onConnect: async (client) => {
      await planEveryRun(client);
      await forPayerLocks(client);
      if (schema) await client.query(`set search_path to ${quotedIdentifier(schema)}`);
    },
  });
  // An idle connection the server ends (a restart, a failover, idle_session_timeout) is reported here and dropped from
  // the pool, which opens another when needed. Unheard, the event would end the whole process.
  pool.on('error', () => undefined);
  // A connection the server ends while it is checked out between statements (a transaction left idle past its limit,
  // `forPayerLocks`) reports the error on the client itself, where the pool no longer listens. Heard here, the call on
  // it fails and the pool drops it; unheard, it would end the process.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  nameStatements(pool);
  const db = new Kysely<LedgerDatabase>({ dialect: new PostgresDialect({ pool }) });
  await migrateUnderLock(db, schema);
  return {
    ledger: new SqlLedger(db, {
      dialect: 'postgres',
      ...(options.now ? { now: options.now } : {}),
    }),
    channels: new SqlChannelLedger(db),
    db,
    close: () => db.destroy(),
  };
}

/**
 * Runs every migration step, one at a time across instances (a session's advisory lock), each step committed on its
 * own. In one transaction, a step's table lock would be held while the next step waited for another table, and a
 * process of the previous release whose transaction read that other table and then wrote the first (a sponsorship
 * reads the fees, then updates the settlement) would wait in a cycle with it: a deadlock, one of the two failing.
 */
async function migrateUnderLock(db: Kysely<LedgerDatabase>, schema: string | undefined) {
  const steps = [
    ...LEDGER_MIGRATIONS,
    migratePayerClaims,
    (trx: Kysely<LedgerDatabase>) => migrateDiscovery(trx as unknown as Kysely<DiscoveryDatabase>),
  ];
  await db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(connection);
    let migrated = false;
    try {
      if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(connection);
      for (const step of steps) await connection.transaction().execute(step);
      migrated = true;
    } finally {
      const unlocked = sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(connection);
      // After a failed step the connection may be gone (and the lock with it): the step's error is the one to report.
      await (migrated ? unlocked : unlocked.catch(() => undefined));
    }
  });
}

/** An SQL identifier, quoted: whatever the name holds stays a name. */
function quotedIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
