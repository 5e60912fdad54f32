/**
 * The Ledger over SQL with Kysely. Claims rely on the database's unique constraints (primary key, unique txid, and a
 * partial unique index on (network, payer, nonce)), so they are atomic across every process sharing the database.
 * Sponsor nonces are reserved under a row lock.
 * @module
 */
import { CompiledQuery, type Kysely, type Selectable, sql } from 'kysely';
import type {
  ClaimResult,
  Ledger,
  NewSettlement,
  SettlementRecord,
  SettlementState,
  SettlementUpdate,
  SponsorAccount,
} from 'x402-stacks/facilitator';
import type { LedgerDatabase, SettlementsTable } from './schema.js';

type Row = Selectable<SettlementsTable>;

/**
 * A Ledger in a SQL database: PostgreSQL or SQLite.
 * @example
 * ```ts
 * const ledger = new SqlLedger(db, { dialect: 'postgres' }); // after migrateLedger(db)
 * ```
 */
export class SqlLedger implements Ledger {
  readonly #db: Kysely<LedgerDatabase>;
  #getQuery: CompiledQuery | undefined;
  readonly #now: () => number;
  readonly #dialect: 'postgres' | 'sqlite';

  constructor(
    db: Kysely<LedgerDatabase>,
    options: { dialect: 'postgres' | 'sqlite'; now?: () => number },
  ) {
    this.#db = db;
    this.#dialect = options.dialect;
    this.#now = options.now ?? Date.now;
  }

  async claim(settlement: NewSettlement): Promise<ClaimResult> {
    const paymentTxid = normalize(settlement.paymentTxid);
    const txid = normalize(settlement.txid);
    const now = String(this.#now());
    // Any unique constraint may refuse the row; which one is read back afterwards.
    const inserted = await this.#db
      .insertInto('x402_settlements')
      .values({
        payment_txid: paymentTxid,
        txid,
        network: settlement.network,
        payer: settlement.payer,
        nonce: settlement.nonce.toString(),
        nonce_claimed: 1,
        sponsor: settlement.sponsor ?? null,
        sponsor_nonce: settlement.sponsorNonce?.toString() ?? null,
        amount: settlement.amount.toString(),
        asset: settlement.asset,
        pay_to: settlement.payTo,
        transaction: settlement.transaction,
        state: 'claimed',
        error_reason: settlement.errorReason ?? null,
        error_message: settlement.errorMessage ?? null,
        block_height: settlement.blockHeight ?? null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((conflict) => conflict.doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { claimed: true, record: toRecord(inserted) };
    const sameTxid = (await this.get(paymentTxid)) ?? (await this.get(txid));
    if (sameTxid) return { claimed: false, conflict: 'txid', existing: sameTxid };
    const holder = await this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where('network', '=', settlement.network)
      .where('payer', '=', settlement.payer)
      .where('nonce', '=', settlement.nonce.toString())
      .where('nonce_claimed', '=', 1)
      .executeTakeFirst();
    if (holder) return { claimed: false, conflict: 'nonce', existing: toRecord(holder) };
    // The conflicting row went away between the insert and the read (a release): try once more.
    return this.claim(settlement);
  }

  async get(txid: string): Promise<SettlementRecord | undefined> {
    const id = normalize(txid);
    // Every verify asks this (the replay check), so its SQL is built once: building it through the query builder on
    // each call cost more than running it.
    this.#getQuery ??= this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where((eb) => eb.or([eb('payment_txid', '=', id), eb('txid', '=', id)]))
      .limit(1)
      .compile();
    const { rows } = await this.#db.executeQuery<Row>(
      CompiledQuery.raw(this.#getQuery.sql, [id, id, ...this.#getQuery.parameters.slice(2)]),
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async update(
    txid: string,
    update: SettlementUpdate,
    from: readonly SettlementState[],
  ): Promise<SettlementRecord | undefined> {
    const id = normalize(txid);
    const row = await this.#db
      .updateTable('x402_settlements')
      .set({
        state: update.state,
        updated_at: String(this.#now()),
        ...(update.txid === undefined ? {} : { txid: normalize(update.txid) }),
        ...(update.transaction === undefined ? {} : { transaction: update.transaction }),
        ...(update.sponsor === undefined ? {} : { sponsor: update.sponsor }),
        ...(update.sponsorNonce === undefined
          ? {}
          : { sponsor_nonce: update.sponsorNonce.toString() }),
        ...(update.errorReason === undefined ? {} : { error_reason: update.errorReason }),
        ...(update.errorMessage === undefined ? {} : { error_message: update.errorMessage }),
        ...(update.blockHeight === undefined ? {} : { block_height: update.blockHeight }),
      })
      .where((eb) => eb.or([eb('payment_txid', '=', id), eb('txid', '=', id)]))
      .where('state', 'in', [...from])
      .returningAll()
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async release(txid: string): Promise<void> {
    const id = normalize(txid);
    await this.#db
      .deleteFrom('x402_settlements')
      .where((eb) => eb.or([eb('payment_txid', '=', id), eb('txid', '=', id)]))
      .execute();
  }

  async releaseNonce(txid: string): Promise<void> {
    const id = normalize(txid);
    await this.#db
      .updateTable('x402_settlements')
      .set({ nonce_claimed: 0 })
      .where((eb) => eb.or([eb('payment_txid', '=', id), eb('txid', '=', id)]))
      .execute();
  }

  async unfinished(): Promise<SettlementRecord[]> {
    const rows = await this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where('state', 'in', ['claimed', 'broadcast'])
      .execute();
    return rows.map(toRecord);
  }

  async reserveSponsorNonce(account: SponsorAccount, chainNextNonce: bigint): Promise<bigint> {
    return this.#exclusive(async (trx) => {
      const next = await this.#lockSponsor(trx, account);
      // Released nonces below the chain's next are spent by something else by now; forget them.
      await trx
        .deleteFrom('x402_sponsor_released')
        .where('network', '=', account.network)
        .where('sponsor', '=', account.sponsor)
        .where('nonce', '<', chainNextNonce.toString())
        .execute();
      const released = await trx
        .selectFrom('x402_sponsor_released')
        .select('nonce')
        .where('network', '=', account.network)
        .where('sponsor', '=', account.sponsor)
        .orderBy('nonce')
        .limit(1)
        .executeTakeFirst();
      if (released) {
        await trx
          .deleteFrom('x402_sponsor_released')
          .where('network', '=', account.network)
          .where('sponsor', '=', account.sponsor)
          .where('nonce', '=', released.nonce)
          .execute();
        return BigInt(released.nonce);
      }
      const nonce = next > chainNextNonce ? next : chainNextNonce;
      await setNext(trx, account, nonce + 1n);
      return nonce;
    });
  }

  async releaseSponsorNonce(account: SponsorAccount, nonce: bigint): Promise<void> {
    await this.#exclusive(async (trx) => {
      const next = await this.#lockSponsor(trx, account);
      if (nonce >= next) return;
      if (nonce === next - 1n) {
        await setNext(trx, account, nonce);
        return;
      }
      await trx
        .insertInto('x402_sponsor_released')
        .values({ network: account.network, sponsor: account.sponsor, nonce: nonce.toString() })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
    });
  }

  /**
   * Runs `work` in a transaction no other writer can interleave with: PostgreSQL locks the sponsor's row
   * (`FOR UPDATE`, in #lockSponsor); SQLite takes the write lock up front (`BEGIN IMMEDIATE`), since two deferred
   * transactions that both read first can deadlock.
   */
  async #exclusive<T>(work: (trx: Kysely<LedgerDatabase>) => Promise<T>): Promise<T> {
    if (this.#dialect === 'postgres') return this.#db.transaction().execute(work);
    return this.#db.connection().execute(async (connection) => {
      await sql`begin immediate`.execute(connection);
      try {
        const result = await work(connection);
        await sql`commit`.execute(connection);
        return result;
      } catch (error) {
        await sql`rollback`.execute(connection);
        throw error;
      }
    });
  }

  /** Locks the sponsor's row (creating it at 0) for the rest of the transaction and returns its next nonce. */
  async #lockSponsor(trx: Kysely<LedgerDatabase>, account: SponsorAccount): Promise<bigint> {
    await trx
      .insertInto('x402_sponsor_nonces')
      .values({ network: account.network, sponsor: account.sponsor, next: '0' })
      .onConflict((conflict) => conflict.doNothing())
      .execute();
    let query = trx
      .selectFrom('x402_sponsor_nonces')
      .select('next')
      .where('network', '=', account.network)
      .where('sponsor', '=', account.sponsor);
    if (this.#dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirstOrThrow();
    return BigInt(row.next);
  }
}

async function setNext(trx: Kysely<LedgerDatabase>, account: SponsorAccount, next: bigint) {
  await trx
    .updateTable('x402_sponsor_nonces')
    .set({ next: next.toString() })
    .where('network', '=', account.network)
    .where('sponsor', '=', account.sponsor)
    .execute();
}

function toRecord(row: Row): SettlementRecord {
  return Object.freeze({
    paymentTxid: row.payment_txid,
    txid: row.txid,
    network: row.network as SettlementRecord['network'],
    payer: row.payer,
    nonce: BigInt(row.nonce),
    ...(row.sponsor === null ? {} : { sponsor: row.sponsor }),
    ...(row.sponsor_nonce === null ? {} : { sponsorNonce: BigInt(row.sponsor_nonce) }),
    amount: BigInt(row.amount),
    asset: row.asset,
    payTo: row.pay_to,
    transaction: row.transaction,
    state: row.state as SettlementState,
    ...(row.error_reason === null ? {} : { errorReason: row.error_reason }),
    ...(row.error_message === null ? {} : { errorMessage: row.error_message }),
    ...(row.block_height === null ? {} : { blockHeight: Number(row.block_height) }),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  });
}

function normalize(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
