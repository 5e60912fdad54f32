/**
 * The ledger's tables, as Kysely types and as one migration. Integers that can exceed 2^53 (nonces, amounts) are
 * stored as decimal text or int8 and read back as bigint; never as JavaScript numbers.
 * @module
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export type SettlementsTable = {
  payment_txid: string;
  txid: string;
  network: string;
  payer: string;
  /** int8: Stacks nonces stay far below 2^63. */
  nonce: string;
  /**
   * 1 while this settlement holds its (network, payer, nonce), else 0; a partial unique index enforces one holder.
   * An integer rather than a boolean, so SQLite and PostgreSQL share the code.
   */
  nonce_claimed: number;
  sponsor: string | null;
  sponsor_nonce: string | null;
  amount: string;
  asset: string;
  pay_to: string;
  transaction: string;
  state: string;
  error_reason: string | null;
  error_message: string | null;
  block_height: number | bigint | null;
  /** The process that claimed it (its lease is `process:<holder>`); added after the first release, so nullable. */
  holder: string | null;
  /**
   * The resource URL the payment was settled for, what binds its status to one route. Added after `holder`, so
   * nullable: a row written before it reads back without a resource.
   */
  resource: string | null;
  created_at: string;
  updated_at: string;
};

export type SponsorNoncesTable = { network: string; sponsor: string; next: string };
export type SponsorReleasedTable = { network: string; sponsor: string; nonce: string };

/** A settlement's hold on a sponsor nonce and the fee it commits; kept after success for the fee windows. */
export type SponsorFeesTable = {
  payment_txid: string;
  network: string;
  payer: string;
  sponsor: string;
  nonce: string;
  fee: string;
  at: string;
  /** 1 once the transaction failed on chain: the sponsor paid for nothing. */
  failed: number;
  /**
   * When the keeper last held this nonce for a filler over the settlement's stranded transaction
   * (`Ledger.holdStrandedNonce`): once set, the nonce is never handed back to the pool. Added after the table, so
   * nullable; null while no filler was sent over it.
   */
  stranded_at: string | number | bigint | null;
};
export type LeasesTable = { name: string; holder: string; expires_at: string };
/** The one answer (`success` or `pending`) a settle call gave about a payment. */
export type AnswersTable = {
  payment_txid: string;
  answer: string;
  at: string;
  /**
   * The `created_at` of the claim the answer was given about (`answerForClaim` in `x402-stacks/facilitator` says what
   * it changes). Added after the table, so nullable: an answer written before it, or by a process of an earlier
   * release, names no claim and counts for every one.
   */
  claimed_at: string | number | bigint | null;
};

/**
 * A `payment-identifier` id, scoped to (network, payer), and the payment it names. Kept for the replay window only:
 * the keeper deletes rows bound before it.
 */
export type PaymentIdsTable = {
  network: string;
  payer: string;
  id: string;
  payment_txid: string;
  bound_at: string;
  /** How many times the stored outcome was answered again under this id. */
  replays: number;
};

/**
 * A batch-settlement channel (`sql-channel-ledger.ts`). Amounts are u128: on SQLite decimal text zero-padded to
 * {@link AMOUNT_DIGITS} digits, so that text order is number order; on PostgreSQL numeric(39, 0). Either way they are
 * written padded and read back as decimal strings.
 */
export type ChannelsTable = {
  channel_id: string;
  network: string;
  escrow: string;
  /** JSON: the channel's immutable config. */
  config: string;
  balance: string;
  claimed: string;
  refund_nonce: string;
  /** int8: a burn block height, 0 when no withdrawal is pending. */
  withdraw_requested_at: string | number | bigint;
  charged: string;
  signed_max: string;
  signature: string;
  updated_at: string | number | bigint;
  /** int8: until when a refund holds the channel (ms since the epoch); null when none does. */
  frozen_until: string | number | bigint | null;
  /** The refund nonce the holding refund was sent with (an amount, as `refund_nonce`); null when no hold. */
  frozen_refund_nonce: string | null;
};

/** Digits of the largest u128 (2^128 - 1 has 39): the width amounts are padded to. */
export const AMOUNT_DIGITS = 39;

/**
 * Every table of the ledger, by name: the Kysely database type the ledgers and their migration are written against.
 * @example
 * ```ts
 * const db = new Kysely<LedgerDatabase>({ dialect: new PostgresDialect({ pool }) });
 * await migrateLedger(db);
 * ```
 */
export type LedgerDatabase = {
  x402_settlements: SettlementsTable;
  x402_sponsor_nonces: SponsorNoncesTable;
  x402_sponsor_released: SponsorReleasedTable;
  x402_sponsor_fees: SponsorFeesTable;
  x402_leases: LeasesTable;
  x402_answers: AnswersTable;
  x402_payment_ids: PaymentIdsTable;
  x402_channels: ChannelsTable;
};

/**
 * Whether every step of {@link migrateLedger} is done, by the reads each step makes before it touches anything: a
 * start that finds them all needs no write, nor the lock a migration runs under.
 */
export async function ledgerUpToDate(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (
    (await paymentIdsMade(db)) &&
    (await channelsMade(db)) &&
    (await settlementTablesMade(db)) &&
    (await answerClaimsMade(db)) &&
    (await inFlightIndexMade(db)) &&
    (await strandedHoldsMade(db))
  );
}

/**
 * The steps of {@link migrateLedger}, in order, each idempotent and each a whole change: PostgreSQL commits each in a
 * transaction of its own (`postgres.ts`), so that no step holds a table's lock while the next waits for another's.
 */
export const LEDGER_MIGRATIONS: readonly ((db: Kysely<LedgerDatabase>) => Promise<void>)[] = [
  // A table of its own with its own up-to-date check, so that it merges with other changes to the tables below.
  migratePaymentIds,
  migrateChannels,
  migrateSettlementTables,
  migrateAnswerClaims,
  migrateInFlightIndex,
  migrateStrandedHolds,
];

/**
 * Creates the tables if they do not exist. Idempotent; run it at every start (under a lock when shared).
 * @example
 * ```ts
 * await db.transaction().execute((trx) => migrateLedger(trx));
 * ```
 */
export async function migrateLedger(db: Kysely<LedgerDatabase>): Promise<void> {
  for (const step of LEDGER_MIGRATIONS) await step(db);
}

/** The settlements table and the tables beside it, with their indexes. */
async function migrateSettlementTables(db: Kysely<LedgerDatabase>): Promise<void> {
  // Up to date already (the last change below is there): touch nothing. Even a `create index if not exists` locks its
  // table, and a process restarting beside a busy one would deadlock with that one's transactions.
  if (await settlementTablesMade(db)) return;
  await db.schema
    .createTable('x402_settlements')
    .ifNotExists()
    .addColumn('payment_txid', 'text', (c) => c.primaryKey())
    .addColumn('txid', 'text', (c) => c.notNull().unique())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('payer', 'text', (c) => c.notNull())
    .addColumn('nonce', 'bigint', (c) => c.notNull())
    .addColumn('nonce_claimed', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('sponsor', 'text')
    .addColumn('sponsor_nonce', 'bigint')
    .addColumn('amount', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('pay_to', 'text', (c) => c.notNull())
    .addColumn('transaction', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('error_reason', 'text')
    .addColumn('error_message', 'text')
    .addColumn('block_height', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('holder', 'text')
    .addColumn('resource', 'text')
    .execute();
  // Before anything else touches the table: the alter waits for the transactions of processes still running the
  // previous release, and holding no other lock of ours meanwhile, it cannot deadlock with them.
  await addColumnIfMissing(db, 'x402_settlements', 'holder', 'text');
  await addColumnIfMissing(db, 'x402_settlements', 'resource', 'text');
  // One holder per (network, payer, nonce), among settlements that still hold it.
  await sql`create unique index if not exists x402_settlements_nonce on x402_settlements (network, payer, nonce) where ${sql.raw(HOLDS_NONCE_SQL)}`.execute(
    db,
  );
  await db.schema
    .createIndex('x402_settlements_state')
    .ifNotExists()
    .on('x402_settlements')
    .column('state')
    .execute();
  await db.schema
    .createTable('x402_sponsor_nonces')
    .ifNotExists()
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('sponsor', 'text', (c) => c.notNull())
    .addColumn('next', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('x402_sponsor_nonces_pk', ['network', 'sponsor'])
    .execute();
  await db.schema
    .createTable('x402_sponsor_released')
    .ifNotExists()
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('sponsor', 'text', (c) => c.notNull())
    .addColumn('nonce', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('x402_sponsor_released_pk', ['network', 'sponsor', 'nonce'])
    .execute();
  await db.schema
    .createTable('x402_sponsor_fees')
    .ifNotExists()
    .addColumn('payment_txid', 'text', (c) => c.primaryKey())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('payer', 'text', (c) => c.notNull())
    .addColumn('sponsor', 'text', (c) => c.notNull())
    .addColumn('nonce', 'bigint', (c) => c.notNull())
    .addColumn('fee', 'bigint', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('x402_sponsor_fees_payer')
    .ifNotExists()
    .on('x402_sponsor_fees')
    .columns(['network', 'payer', 'at'])
    .execute();
  await db.schema
    .createIndex('x402_sponsor_fees_at')
    .ifNotExists()
    .on('x402_sponsor_fees')
    .columns(['network', 'at'])
    .execute();
  await db.schema
    .createIndex('x402_sponsor_fees_nonce')
    .ifNotExists()
    .on('x402_sponsor_fees')
    .columns(['network', 'sponsor', 'nonce'])
    .execute();
  await db.schema
    .createTable('x402_leases')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('x402_answers')
    .ifNotExists()
    .addColumn('payment_txid', 'text', (c) => c.primaryKey())
    .addColumn('answer', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_at', 'bigint')
    .execute();
}

/**
 * Adds the claim an answer was given about to an answers table made before it, unless it is there (then it touches
 * nothing, like the checks above). Its own step with its own check, after the table's creation: a ledger already past
 * the settlement tables' last change skips that step and still gets this one.
 */
async function migrateAnswerClaims(db: Kysely<LedgerDatabase>): Promise<void> {
  if (await answerClaimsMade(db)) return;
  await addColumnIfMissing(db, 'x402_answers', 'claimed_at', 'bigint');
}

async function migrateStrandedHolds(db: Kysely<LedgerDatabase>): Promise<void> {
  if (await strandedHoldsMade(db)) return;
  await addColumnIfMissing(db, 'x402_sponsor_fees', 'stranded_at', 'bigint');
}

/**
 * A settlement that still holds its (payer, nonce): the condition of the unique nonce index, written into the SQL of
 * every read meant to use it. SQLite uses a partial index only for a query whose own conditions include the index's,
 * term for term, and a bound value in their place would make it prepare the statement again on every run.
 */
export const HOLDS_NONCE_SQL = 'nonce_claimed = 1';
/**
 * A settlement claimed or broadcast, a payment in flight: with {@link HOLDS_NONCE_SQL}, the in-flight index's terms.
 * `rowsOf` in grouped-reads.ts sorts a grouped read's rows by the same two conditions: change them together.
 */
export const IN_FLIGHT_SQL = "state in ('claimed', 'broadcast')";
/**
 * An answer stored for a payment gives way to a new one (an upsert's `do update` condition, `excluded` being the new
 * row): it is `pending`, about another claim than the new answer's, and the new answer's claim is the one the ledger
 * holds now, so the stored one's claim is gone. See `Ledger.recordAnswer`. Either claim unnamed (null), it stands.
 */
export const ANSWER_GIVES_WAY_SQL = `x402_answers.answer = 'pending' and x402_answers.claimed_at <> excluded.claimed_at
  and exists (select 1 from x402_settlements s where s.payment_txid = excluded.payment_txid
    and s.created_at = excluded.claimed_at)`;
/** The partial index of the settlements in flight; see {@link migrateInFlightIndex}. */
export const IN_FLIGHT_INDEX = 'x402_settlements_in_flight';

/**
 * Adds the in-flight index, unless it is there (then it touches nothing, like the checks above). It serves a payer's
 * settlements in flight, for every verify's replay read, every settle's funds check and every sponsored payment's
 * limit check. The unique nonce index also leads with (network, payer), but it holds every settlement that still holds
 * its nonce, finished ones included: through it, each of those reads went over the payer's whole history, so an agent
 * with 10,000 paid calls behind it paid for 10,000 rows on every new one. This index holds only the settlements in
 * flight, a handful per payer.
 *
 * Building it on a ledger made before it reads the whole table once and holds off writes meanwhile, about a second
 * per million settlements (on PostgreSQL under the migration's lock). An operator who would rather not pause can
 * build it beforehand with `create index concurrently` (the facilitator's README gives the statement); an invalid
 * index such a build left when it failed is dropped and built again here.
 */
async function migrateInFlightIndex(db: Kysely<LedgerDatabase>): Promise<void> {
  if (await inFlightIndexMade(db)) return;
  const create = sql.raw(
    `create index if not exists ${IN_FLIGHT_INDEX} on x402_settlements (network, payer) where ${HOLDS_NONCE_SQL} and ${IN_FLIGHT_SQL}`,
  );
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // An operator's concurrent build under way is invalid until it ends: dropping it would wait for the build, and
    // every read and write of the table would queue behind that wait. Until it is done the reads take the nonce index.
    if (await indexBuildUnderWay(db, 'x402_settlements')) return;
    const [{ schema }] = (
      await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
    ).rows as [{ schema: string }];
    await sql`drop index if exists ${sql.id(schema, IN_FLIGHT_INDEX)}`.execute(db);
    await create.execute(db);
    return;
  }
  try {
    await create.execute(db);
  } catch (error) {
    // Two processes opening one SQLite file of an earlier release at once: the other one built it, past the wait.
    if (!(await namesIn(db, 'x402_settlements', 'indexes')).includes(IN_FLIGHT_INDEX)) throw error;
  }
}

/** PostgreSQL: whether an index of the table, in the connection's schema, is being built right now. */
async function indexBuildUnderWay(
  db: Kysely<LedgerDatabase>,
  table: keyof LedgerDatabase,
): Promise<boolean> {
  const { rows } = await sql`select 1 from pg_stat_progress_create_index p
    join pg_class t on t.oid = p.relid join pg_namespace n on n.oid = t.relnamespace
    where t.relname = ${table} and n.nspname = current_schema()`.execute(db);
  return rows.length > 0;
}

/** Creates the `payment-identifier` table, unless it is there (then it touches nothing, like the check above). */
async function migratePaymentIds(db: Kysely<LedgerDatabase>): Promise<void> {
  if (await paymentIdsMade(db)) return;
  await db.schema
    .createTable('x402_payment_ids')
    .ifNotExists()
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('payer', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payment_txid', 'text', (c) => c.notNull())
    .addColumn('bound_at', 'bigint', (c) => c.notNull())
    .addColumn('replays', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('x402_payment_ids_pk', ['network', 'payer', 'id'])
    .execute();
  // The keeper's prune reads by age.
  await db.schema
    .createIndex('x402_payment_ids_bound_at')
    .ifNotExists()
    .on('x402_payment_ids')
    .column('bound_at')
    .execute();
}

/**
 * Creates the batch-settlement channels table, unless it is there (then it touches nothing). Amount columns are
 * numeric on PostgreSQL, compared as numbers; on SQLite, text with TEXT affinity (a NUMERIC column would turn the
 * padded text into a 64-bit integer or a lossy real), compared as padded text.
 */
async function migrateChannels(db: Kysely<LedgerDatabase>): Promise<void> {
  if (await channelsMade(db)) return;
  // A table an earlier release made gets the refund hold; a new one is made with it below.
  if ((await namesIn(db, 'x402_channels', 'columns')).length > 0) {
    await addColumnIfMissing(db, 'x402_channels', 'frozen_until', 'bigint');
    await addColumnIfMissing(db, 'x402_channels', 'frozen_refund_nonce', 'text');
    return;
  }
  const amount =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? sql`numeric(${sql.raw(String(AMOUNT_DIGITS))}, 0)`
      : sql`text`;
  await db.schema
    .createTable('x402_channels')
    .ifNotExists()
    .addColumn('channel_id', 'text', (c) => c.primaryKey())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('escrow', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('balance', amount, (c) => c.notNull())
    .addColumn('claimed', amount, (c) => c.notNull())
    .addColumn('refund_nonce', amount, (c) => c.notNull())
    .addColumn('withdraw_requested_at', 'bigint', (c) => c.notNull())
    .addColumn('charged', amount, (c) => c.notNull())
    .addColumn('signed_max', amount, (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('frozen_until', 'bigint')
    .addColumn('frozen_refund_nonce', 'text')
    .execute();
  // What a claim should present: one escrow's channels, oldest unclaimed charge first (`updated_at`).
  await db.schema
    .createIndex('x402_channels_unclaimed')
    .ifNotExists()
    .on('x402_channels')
    .columns(['network', 'escrow', 'updated_at'])
    .execute();
}

/** Brings a table made by an earlier release up to date. */
async function addColumnIfMissing(
  db: Kysely<LedgerDatabase>,
  table: keyof LedgerDatabase,
  column: string,
  type: 'text' | 'bigint',
): Promise<void> {
  if ((await namesIn(db, table, 'columns')).includes(column)) return;
  try {
    await db.schema.alterTable(table).addColumn(column, type).execute();
  } catch (error) {
    // Two processes opening one SQLite file of the previous release at once: the other one added it first.
    if (!(await namesIn(db, table, 'columns')).includes(column)) throw error;
  }
}

/** The settlements table is up to date: the last change to it (the `resource` column) is there. */
async function settlementTablesMade(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (await namesIn(db, 'x402_settlements', 'columns')).includes('resource');
}

async function answerClaimsMade(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (await namesIn(db, 'x402_answers', 'columns')).includes('claimed_at');
}

async function strandedHoldsMade(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (await namesIn(db, 'x402_sponsor_fees', 'columns')).includes('stranded_at');
}

async function inFlightIndexMade(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (await namesIn(db, 'x402_settlements', 'indexes')).includes(IN_FLIGHT_INDEX);
}

async function paymentIdsMade(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (await namesIn(db, 'x402_payment_ids', 'columns')).length > 0;
}

/** The channels table is up to date: the last change to it (the refund hold, `frozen_refund_nonce`) is there. */
async function channelsMade(db: Kysely<LedgerDatabase>): Promise<boolean> {
  return (await namesIn(db, 'x402_channels', 'columns')).includes('frozen_refund_nonce');
}

/**
 * A table's columns or indexes, in the schema the connection works in; none when the table does not exist. On
 * PostgreSQL only valid indexes count: a concurrent build that failed leaves an invalid one under its name.
 */
async function namesIn(
  db: Kysely<LedgerDatabase>,
  table: keyof LedgerDatabase,
  what: 'columns' | 'indexes',
): Promise<string[]> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const query = postgres
    ? what === 'columns'
      ? sql<{ name: string }>`select column_name as name from information_schema.columns
          where table_schema = current_schema() and table_name = ${table}`
      : sql<{ name: string }>`select c.relname as name from pg_index i
          join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
          join pg_namespace n on n.oid = t.relnamespace
          where t.relname = ${table} and n.nspname = current_schema() and i.indisvalid`
    : what === 'columns'
      ? sql<{ name: string }>`select name from pragma_table_info(${table})`
      : sql<{ name: string }>`select name from pragma_index_list(${table})`;
  const { rows } = await query.execute(db);
  return rows.map((row) => row.name);
}
