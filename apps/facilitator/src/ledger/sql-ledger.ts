/**
 * The Ledger over SQL with Kysely. Claims rely on the database's unique constraints (primary key, unique txid, and a
 * partial unique index on (network, payer, nonce)), so they are atomic across every process sharing the database.
 * Sponsor nonces are reserved under a row lock. On PostgreSQL a claim, and a read of a payer's settlements in flight,
 * first take the payer's lock (`payer-claims.ts`), so a claim and its funds check can be one step there too.
 * @module
 */
import { CompiledQuery, type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import type {
  ClaimResult,
  Ledger,
  NewSettlement,
  PaymentIdBinding,
  PaymentIdKey,
  PaymentIdReplay,
  PaymentIdRetention,
  ReleaseOptions,
  ReleaseSponsorshipOptions,
  SendClaimResult,
  SettlementAnswer,
  SettlementRecord,
  SettlementState,
  SettlementUpdate,
  SponsorAccount,
  SponsorshipRequest,
  SponsorshipResult,
} from 'x402-stacks/facilitator';
import { answerForClaim, chooseSponsorNonce, sponsorLimitProblem } from 'x402-stacks/facilitator';
import { groupedReads } from './grouped-reads.js';
import { groupedAnswers, groupedClaims, groupedMoves } from './grouped-writes.js';
import { keyedQueue } from './keyed-queue.js';
import {
  type ClaimAnswer,
  type ClaimRow,
  type ClaimWrite,
  claimAnswers,
  claimQuery,
  inFlightQuery,
} from './payer-claims.js';
import { argument, type Prepared, prepare, type QueryRunner, queryRunner } from './prepared.js';
import {
  ANSWER_GIVES_WAY_SQL,
  type AnswersTable,
  HOLDS_NONCE_SQL,
  IN_FLIGHT_SQL,
  type LedgerDatabase,
  type SettlementsTable,
} from './schema.js';

type Row = Selectable<SettlementsTable>;

/**
 * Statements waiting for a payer's lock at once, at most, of the pool's ten connections (postgres.ts): the rest are
 * left to the turns' statements, the reads and the moves.
 */
const LOCK_WAITERS = 4;

/** A claim's values as its statements bind them (strings for the bigint columns). */
type ClaimValues = Omit<ClaimWrite, 'mode'>;

/** Thrown inside `claimToSend`'s transaction to roll its claim back when `admit` refuses it. */
const REFUSED = Symbol('refused');

/** The conditions of the partial indexes, written into the SQL as the indexes are (schema.ts). */
const HOLDS_NONCE = sql.raw<SqlBool>(HOLDS_NONCE_SQL);
const IS_IN_FLIGHT = sql.raw<SqlBool>(IN_FLIGHT_SQL);
const ANSWER_GIVES_WAY = sql.raw<SqlBool>(ANSWER_GIVES_WAY_SQL);

/** The columns an update may set besides `state` and `updated_at`, as `SettlementUpdate` names them. */
const UPDATABLE = {
  txid: 'txid',
  transaction: 'transaction',
  sponsor: 'sponsor',
  sponsorNonce: 'sponsor_nonce',
  errorReason: 'error_reason',
  errorMessage: 'error_message',
  blockHeight: 'block_height',
} as const satisfies Partial<Record<keyof SettlementUpdate, keyof SettlementsTable>>;

/**
 * The statements every payment runs, compiled once (`prepared.ts`). An update is compiled once per shape: the
 * columns it sets, the states it moves from, and whether it is guarded by the claim's time.
 */
function hotStatements(db: Kysely<LedgerDatabase>) {
  const settlements = () => db.selectFrom('x402_settlements').selectAll();
  /** A claim, inserted in `state`: `claimed`, or `broadcast` when the write-ahead mark goes in the same step. */
  const claimIn = (state: 'claimed' | 'broadcast') =>
    prepare(
      db
        .insertInto('x402_settlements')
        .values({
          payment_txid: argument('paymentTxid'),
          txid: argument('txid'),
          network: argument('network'),
          payer: argument('payer'),
          nonce: argument('nonce'),
          nonce_claimed: 1,
          sponsor: argument('sponsor'),
          sponsor_nonce: argument('sponsorNonce'),
          amount: argument('amount'),
          asset: argument('asset'),
          pay_to: argument('payTo'),
          transaction: argument('transaction'),
          state,
          error_reason: argument('errorReason'),
          error_message: argument('errorMessage'),
          block_height: argument('blockHeight') as unknown as number | null,
          holder: argument('holder'),
          resource: argument('resource'),
          created_at: argument('now'),
          updated_at: argument('now'),
        })
        .onConflict((conflict) => conflict.doNothing())
        .returningAll(),
    );
  /** Turns a pending answer into success: any, or only one about the claim given (or naming none). */
  const promote = (ofClaim: boolean) => {
    let query = db
      .updateTable('x402_answers')
      .set({ answer: 'success', at: argument('now') })
      .where('payment_txid', '=', argument('id'))
      .where('answer', '=', 'pending');
    if (ofClaim) {
      query = query.where((eb) =>
        eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '=', argument('claimedAt'))]),
      );
    }
    return prepare(query.returning('answer'));
  };
  return {
    claim: claimIn('claimed'),
    claimToSend: claimIn('broadcast'),
    inFlight: prepare(
      settlements()
        .where('network', '=', argument('network'))
        .where('payer', '=', argument('payer'))
        .where(HOLDS_NONCE)
        .where(IS_IN_FLIGHT),
    ),
    recordAnswer: prepare(
      db
        .insertInto('x402_answers')
        .values({
          payment_txid: argument('id'),
          answer: argument('answer'),
          at: argument('now'),
          claimed_at: argument('claimedAt'),
        })
        .onConflict((conflict) =>
          conflict
            .column('payment_txid')
            .doUpdateSet((eb) => ({
              answer: eb.ref('excluded.answer'),
              at: eb.ref('excluded.at'),
              claimed_at: eb.ref('excluded.claimed_at'),
            }))
            .where(ANSWER_GIVES_WAY),
        )
        .returning('answer'),
    ),
    promoteAnswer: promote(false),
    promoteClaimAnswer: promote(true),
    answerOf: prepare(
      db
        .selectFrom('x402_answers')
        .select(['answer', 'claimed_at'])
        .where('payment_txid', '=', argument('id')),
    ),
  };
}

/**
 * A Ledger in a SQL database: PostgreSQL or SQLite.
 * @example
 * ```ts
 * const ledger = new SqlLedger(db, { dialect: 'postgres' }); // on a database openPostgresLedger migrated
 * ```
 */
export class SqlLedger implements Ledger {
  readonly #db: Kysely<LedgerDatabase>;
  readonly #run: QueryRunner;
  #getQuery: CompiledQuery | undefined;
  #lookupQuery: CompiledQuery | undefined;
  readonly #hot: ReturnType<typeof hotStatements>;
  readonly #updates = new Map<string, Prepared>();
  readonly #now: () => number;
  readonly #dialect: 'postgres' | 'sqlite';
  /** PostgreSQL: the replay reads of one event-loop turn in one statement (`grouped-reads.ts`). */
  readonly #grouped: ReturnType<typeof groupedReads<Row>> | undefined;
  /** PostgreSQL: the moves between states and the answers of one turn, each in one statement (`grouped-writes.ts`). */
  readonly #moves: ReturnType<typeof groupedMoves<Row>> | undefined;
  readonly #answers: ReturnType<typeof groupedAnswers> | undefined;
  readonly #claims: ReturnType<typeof groupedClaims<Row>> | undefined;
  /**
   * PostgreSQL: the statements that wait for a payer's lock (a claim locked out of its turn's statement, a claim judged
   * in a transaction, a read of the payer's settlements in flight), one at a time per payer in this process, so a payer
   * with many payments at once holds one connection of the pool, and at most {@link LOCK_WAITERS} at once in all, so
   * lock waits never hold the whole pool while the payers' other statements wait for a connection.
   */
  readonly #waiting = keyedQueue(LOCK_WAITERS);

  constructor(
    db: Kysely<LedgerDatabase>,
    options: { dialect: 'postgres' | 'sqlite'; now?: () => number; run?: QueryRunner },
  ) {
    this.#db = db;
    this.#run = queryRunner(db, options.run);
    this.#hot = hotStatements(db);
    this.#dialect = options.dialect;
    this.#now = options.now ?? Date.now;
    // SQLite answers in process, with no round trip to share.
    const postgres = options.dialect === 'postgres';
    this.#grouped = postgres ? groupedReads<Row>(db) : undefined;
    this.#moves = postgres ? groupedMoves<Row>(db) : undefined;
    this.#answers = postgres ? groupedAnswers(db) : undefined;
    this.#claims = postgres ? groupedClaims<Row>(db) : undefined;
  }

  async claim(settlement: NewSettlement): Promise<ClaimResult> {
    const values = this.#claimValues(settlement);
    if (this.#claims) {
      // PostgreSQL: the claims of one turn go as one statement, each with its payer's settlements in flight read under
      // the payer's lock. One whose payer's lock another claim holds, or that shares a key with another of its group,
      // waits in a statement of its own.
      const write = { ...values, mode: 'claim' as const };
      const pair = pairOf(values);
      const grouped = this.#waiting.busy(pair) ? 'alone' : await this.#claims(write);
      const { row, inFlight } =
        grouped === 'alone' || grouped.lockedOut
          ? await this.#waiting.run(pair, () => this.#claimAlone(write))
          : grouped;
      if (row) return { claimed: true, record: toRecord(row), inFlight: inFlight.map(toRecord) };
    } else {
      // Any unique constraint may refuse the row; which one is read back afterwards.
      const [inserted] = (await this.#run<Row>(this.#hot.claim(values))).rows;
      if (inserted) return { claimed: true, record: toRecord(inserted) };
    }
    // The conflicting row may have gone between the insert and the read (a release): then try once more.
    return (await this.#conflictOf(settlement)) ?? this.claim(settlement);
  }

  /** PostgreSQL: one claim in a statement of its own, waiting for its payer's lock (`payer-claims.ts`). */
  async #claimAlone(write: ClaimWrite, run: QueryRunner = this.#run): Promise<ClaimAnswer<Row>> {
    const { rows } = await run<ClaimRow<Row>>(claimQuery([write], { wait: true }));
    return claimAnswers([write], rows)[0]!;
  }

  /**
   * SQLite serializes its writes, file-wide, so the in-flight read in the same transaction as the insert sees every
   * claim committed or made before it, by any process. PostgreSQL takes the payer's lock first (`payer-claims.ts`),
   * and a payment whose payer has nothing else in flight, and whose lock is free, is claimed and marked there in one
   * statement, with no transaction: `admit` is asked first about the claim alone, and a claim it would refuse then, or
   * that the ledger finds beside others or locked out, is claimed in a transaction that is judged with the others and
   * rolled back on a refusal.
   */
  async claimToSend<R>(
    settlement: NewSettlement,
    admit: (inFlight: readonly SettlementRecord[]) => R | undefined,
  ): Promise<SendClaimResult<R>> {
    const values = this.#claimValues(settlement);
    if (!this.#claims) return this.#claimToSendJudged(settlement, values, admit);
    // A payer with a claim of this process waiting for its lock is not alone: its claim queues behind that one.
    const pair = pairOf(values);
    if (!this.#waiting.busy(pair) && admit([claimedAlone(values)]) === undefined) {
      const grouped = await this.#claims({ ...values, mode: 'send_alone' });
      if (grouped !== 'alone' && grouped.row)
        return { claimed: true, record: toRecord(grouped.row) };
    }
    return this.#waiting.run(pair, () => this.#claimToSendJudged(settlement, values, admit));
  }

  /** A claim to send, inserted and judged with the payer's settlements in flight in one transaction. */
  async #claimToSendJudged<R>(
    settlement: NewSettlement,
    values: ClaimValues,
    admit: (inFlight: readonly SettlementRecord[]) => R | undefined,
  ): Promise<SendClaimResult<R>> {
    let refused: { refusal: R } | undefined;
    const claimed = await this.#db
      .transaction()
      .execute(async (trx) => {
        const { row: inserted, inFlight } = await this.#claimInTransaction(trx, values);
        if (!inserted) return undefined;
        const refusal = admit(inFlight.map(toRecord));
        if (refusal === undefined) return toRecord(inserted);
        refused = { refusal };
        // Rolls the claim back: nothing of it is recorded.
        throw REFUSED;
      })
      .catch((error: unknown) => {
        if (error !== REFUSED) throw error;
        return undefined;
      });
    if (claimed) return { claimed: true, record: claimed };
    if (refused) {
      // SQLite: the refusal was judged on claims this process may not have made durable yet (others of this turn's
      // batch): it is given once they are, as a read's answer is. Another process's claim it saw was committed, and
      // is durable once that process's sync ends; only a power loss in between could undo it, and then the refusal
      // was one too many, never a payment too many. PostgreSQL reads only what committed.
      if (!this.#claims) await this.get(values.paymentTxid);
      return { claimed: false, refused: refused.refusal };
    }
    return (
      (await this.#conflictOf(settlement)) ?? this.#claimToSendJudged(settlement, values, admit)
    );
  }

  /** The claim marked `broadcast`, and the payer's settlements in flight read after it, inside `trx`. */
  async #claimInTransaction(
    trx: Kysely<LedgerDatabase>,
    values: ClaimValues,
  ): Promise<Pick<ClaimAnswer<Row>, 'row' | 'inFlight'>> {
    if (this.#claims) {
      return this.#claimAlone(
        { ...values, mode: 'send' },
        (query) => trx.executeQuery(query) as never,
      );
    }
    const [row] = (await trx.executeQuery<Row>(this.#hot.claimToSend(values))).rows;
    if (!row) return { row, inFlight: [] };
    const { rows } = await trx.executeQuery<Row>(
      this.#hot.inFlight({ network: values.network, payer: values.payer }),
    );
    return { row, inFlight: rows };
  }

  #claimValues(settlement: NewSettlement): ClaimValues {
    return {
      paymentTxid: normalize(settlement.paymentTxid),
      txid: normalize(settlement.txid),
      network: settlement.network,
      payer: settlement.payer,
      nonce: settlement.nonce.toString(),
      sponsor: settlement.sponsor ?? null,
      sponsorNonce: settlement.sponsorNonce?.toString() ?? null,
      amount: settlement.amount.toString(),
      asset: settlement.asset,
      payTo: settlement.payTo,
      transaction: settlement.transaction,
      errorReason: settlement.errorReason ?? null,
      errorMessage: settlement.errorMessage ?? null,
      blockHeight: settlement.blockHeight ?? null,
      holder: settlement.holder ?? null,
      resource: settlement.resource ?? null,
      now: String(this.#now()),
    };
  }

  /**
   * The settlement that refused a claim's insert: one holding its txid, or its (network, payer, nonce). Undefined when
   * none does any more (it was released between the insert and this read): the claim may be tried again.
   */
  async #conflictOf(settlement: NewSettlement): Promise<ClaimResult | undefined> {
    const sameTxid =
      (await this.get(normalize(settlement.paymentTxid))) ??
      (await this.get(normalize(settlement.txid)));
    if (sameTxid) return { claimed: false, conflict: 'txid', existing: sameTxid };
    const holder = await this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where('network', '=', settlement.network)
      .where('payer', '=', settlement.payer)
      .where('nonce', '=', settlement.nonce.toString())
      .where(HOLDS_NONCE)
      .executeTakeFirst();
    if (holder) return { claimed: false, conflict: 'nonce', existing: toRecord(holder) };
    return undefined;
  }

  async get(txid: string): Promise<SettlementRecord | undefined> {
    const id = normalize(txid);
    if (this.#grouped) {
      const own = ownRow(id, await this.#grouped({ id, network: null, payer: null }));
      return own ? toRecord(own) : undefined;
    }
    // Every settle asks this (the replay check), so its SQL is built once: building it through the query builder on
    // each call cost more than running it. No `limit`: the two keys match at most two rows, and on SQLite a bound
    // limit made this same plan three times slower (35 µs against 12 on a ledger of 20,000 settlements). Of two, the
    // one whose own id it is.
    this.#getQuery ??= this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where((eb) => eb.or([eb('payment_txid', '=', id), eb('txid', '=', id)]))
      .compile();
    const { rows } = await this.#run<Row>(CompiledQuery.raw(this.#getQuery.sql, [id, id]));
    const own = ownRow(id, rows);
    return own ? toRecord(own) : undefined;
  }

  async update(
    txid: string,
    update: SettlementUpdate,
    from: readonly SettlementState[],
    claimedAt?: number,
  ): Promise<SettlementRecord | undefined> {
    const id = normalize(txid);
    const columns = (Object.keys(UPDATABLE) as (keyof typeof UPDATABLE)[]).filter(
      (key) => update[key] !== undefined,
    );
    const guarded = claimedAt !== undefined;
    // The write-ahead mark and a final state, the moves every settlement makes: grouped per turn.
    if (
      this.#moves &&
      !update.releaseNonce &&
      !update.clearErrorReason &&
      from.length === 1 &&
      columns.every((key) => key === 'txid' || key === 'transaction' || key === 'blockHeight')
    ) {
      const row = await this.#moves({
        id,
        from: from[0]!,
        state: update.state,
        now: String(this.#now()),
        txid: update.txid === undefined ? null : normalize(update.txid),
        transaction: update.transaction ?? null,
        blockHeight: update.blockHeight ?? null,
        claimedAt: guarded ? String(claimedAt) : null,
      });
      return row ? toRecord(row) : undefined;
    }
    const releasesNonce = update.releaseNonce === true;
    const clearsReason = update.clearErrorReason === true;
    const shape = `${columns.join(',')}|${from.join(',')}|${guarded}|${releasesNonce}|${clearsReason}`;
    let statement = this.#updates.get(shape);
    if (!statement) {
      let query = this.#db
        .updateTable('x402_settlements')
        .set({
          state: argument('state'),
          updated_at: argument('now'),
          ...Object.fromEntries(columns.map((key) => [UPDATABLE[key], argument(key)])),
          ...(releasesNonce ? { nonce_claimed: 0 } : {}),
          ...(clearsReason ? { error_reason: null } : {}),
        })
        .where((eb) =>
          eb.or([eb('payment_txid', '=', argument('id')), eb('txid', '=', argument('id'))]),
        )
        // The states as literals, like the constants of the hot reads (see IS_IN_FLIGHT).
        .where(
          'state',
          'in',
          from.map((state) => sql.lit(state)),
        );
      if (guarded) query = query.where('created_at', '=', argument('claimedAt'));
      statement = prepare(query.returningAll());
      this.#updates.set(shape, statement);
    }
    const values: Record<string, unknown> = {
      id,
      state: update.state,
      now: String(this.#now()),
      claimedAt: String(claimedAt),
      txid: update.txid === undefined ? undefined : normalize(update.txid),
      transaction: update.transaction,
      sponsor: update.sponsor,
      sponsorNonce: update.sponsorNonce?.toString(),
      errorReason: update.errorReason,
      errorMessage: update.errorMessage,
      blockHeight: update.blockHeight,
    };
    const {
      rows: [row],
    } = await this.#run<Row>(statement(values));
    return row ? toRecord(row) : undefined;
  }

  async release(txid: string, claimedAt?: number, options: ReleaseOptions = {}): Promise<void> {
    await this.#drop(txid, { claimedAt, from: options.from }, options.reuseSponsorNonce);
  }

  async expireClaim(txid: string, updatedBefore: number): Promise<SettlementRecord | undefined> {
    return this.#drop(txid, { updatedBefore });
  }

  /**
   * Deletes a settlement and frees its sponsor nonce (for reuse unless told otherwise): only the claim made at
   * `claimedAt`, only one in a state of `from`, or only a `claimed` one last updated before `updatedBefore`, when
   * given.
   */
  async #drop(
    txid: string,
    guard: {
      claimedAt?: number;
      from?: readonly SettlementState[] | undefined;
      updatedBefore?: number;
    },
    reuseSponsorNonce = true,
  ) {
    const id = normalize(txid);
    const known = await this.get(id);
    if (!known || guard.from?.length === 0) return undefined;
    return this.#exclusive(known.network, async (trx) => {
      let query = trx
        .deleteFrom('x402_settlements')
        .where((eb) => eb.or([eb('payment_txid', '=', id), eb('txid', '=', id)]));
      if (guard.claimedAt !== undefined)
        query = query.where('created_at', '=', String(guard.claimedAt));
      if (guard.from !== undefined) query = query.where('state', 'in', guard.from);
      if (guard.updatedBefore !== undefined) {
        query = query
          .where('state', '=', 'claimed')
          .where('updated_at', '<', String(guard.updatedBefore));
      }
      const row = await query.returningAll().executeTakeFirst();
      if (!row) return undefined;
      await this.#releaseSponsorship(trx, row.payment_txid, reuseSponsorNonce);
      return toRecord(row);
    });
  }

  async forgetDropped(paymentTxid: string, claimedAt: number): Promise<boolean> {
    const id = normalize(paymentTxid);
    // The settlement and its answer go together: a retry that claims the payment afresh the moment the row is gone
    // must not find the old answer and call its own a duplicate.
    return this.#exclusiveOn(id, false, async (trx) => {
      const row = await trx
        .deleteFrom('x402_settlements')
        .where('payment_txid', '=', id)
        .where('created_at', '=', String(claimedAt))
        .where('state', '=', 'failed')
        .where('error_reason', '=', 'transaction_failed')
        // The drop's mark: both nonces given back (a failure on chain keeps its payer nonce, and its fee record).
        // And not served already: a call whose read was ahead of the drop's may have found it mined.
        .where('nonce_claimed', '=', 0)
        .where(({ and, not, exists, selectFrom }) => {
          const ofThisPayment = 'x402_settlements.payment_txid';
          return and([
            not(
              exists(
                selectFrom('x402_sponsor_fees as f')
                  .select('f.payment_txid')
                  .whereRef('f.payment_txid', '=', ofThisPayment),
              ),
            ),
            not(
              exists(
                selectFrom('x402_answers as a')
                  .select('a.payment_txid')
                  .whereRef('a.payment_txid', '=', ofThisPayment)
                  .where('a.answer', '=', 'success'),
              ),
            ),
          ]);
        })
        .returning('payment_txid')
        .executeTakeFirst();
      if (!row) return false;
      // Never a success: one a call recorded after the check above read (PostgreSQL reads as the statement began)
      // served the payment, and must make the next claim's answer a duplicate.
      await trx
        .deleteFrom('x402_answers')
        .where('payment_txid', '=', id)
        .where('answer', '<>', 'success')
        .execute();
      return true;
    });
  }

  async unfinished(): Promise<SettlementRecord[]> {
    const rows = await this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where('state', 'in', ['claimed', 'broadcast'])
      .execute();
    return rows.map(toRecord);
  }

  async inFlight(network: string, payer: string): Promise<SettlementRecord[]> {
    // PostgreSQL: read under the payer's lock, so a claim of the payer mid-way (inserted, not yet committed) is waited
    // for and seen (`payer-claims.ts`).
    if (this.#claims) {
      const { rows } = await this.#waiting.run(pairOf({ network, payer }), () =>
        this.#run<Row>(inFlightQuery(network, payer)),
      );
      return rows.map(toRecord);
    }
    // The in-flight index serves this: only the payer's settlements in flight, not its history (schema.ts).
    const { rows } = await this.#run<Row>(this.#hot.inFlight({ network, payer }));
    return rows.map(toRecord);
  }

  async lookup(txid: string, network: string, payer: string) {
    const id = normalize(txid);
    if (this.#grouped)
      return splitLookup(id, network, payer, await this.#grouped({ id, network, payer }));
    // Every verify asks this: one statement, built once, each side of the OR served by its own index.
    this.#lookupQuery ??= this.#db
      .selectFrom('x402_settlements')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('payment_txid', '=', id),
          eb('txid', '=', id),
          eb.and([eb('network', '=', network), eb('payer', '=', payer), HOLDS_NONCE, IS_IN_FLIGHT]),
        ]),
      )
      .compile();
    const { rows } = await this.#run<Row>(
      CompiledQuery.raw(this.#lookupQuery.sql, [id, id, network, payer]),
    );
    return splitLookup(id, network, payer, rows);
  }

  async reserveSponsorship(request: SponsorshipRequest, now: number): Promise<SponsorshipResult> {
    const paymentTxid = normalize(request.paymentTxid);
    return this.#exclusive(request.network, async (trx) => {
      const claim = await trx
        .selectFrom('x402_settlements')
        .select(['state', 'created_at'])
        .where('payment_txid', '=', paymentTxid)
        .executeTakeFirst();
      if (claim?.state !== 'claimed' || String(claim.created_at) !== String(request.claimedAt)) {
        return { granted: false, reason: 'claim_lost', message: 'the claim is no longer held' };
      }
      const since = String(now - request.limits.windowMs);
      const total = await trx
        .selectFrom('x402_sponsor_fees')
        .select((eb) => eb.fn.sum<string | bigint | null>('fee').as('fees'))
        .where('network', '=', request.network)
        .where('at', '>=', since)
        .executeTakeFirst();
      const ofPayer = await trx
        .selectFrom('x402_sponsor_fees')
        .select((eb) => [
          eb.fn.sum<string | bigint | null>('fee').as('fees'),
          eb.fn.sum<string | bigint | null>('failed').as('failed'),
        ])
        .where('network', '=', request.network)
        .where('payer', '=', request.payer)
        .where('at', '>=', since)
        .executeTakeFirst();
      const inFlight = await trx
        .selectFrom('x402_settlements')
        .select((eb) => eb.fn.countAll<string | bigint | number>().as('count'))
        .where('network', '=', request.network)
        .where('payer', '=', request.payer)
        .where(HOLDS_NONCE)
        .where(IS_IN_FLIGHT)
        .where('sponsor', 'is not', null)
        .executeTakeFirst();
      const problem = sponsorLimitProblem(
        {
          inFlightOfPayer: Number(inFlight?.count ?? 0),
          feesOfPayer: BigInt(ofPayer?.fees ?? 0),
          feesTotal: BigInt(total?.fees ?? 0),
          failedOfPayer: Number(ofPayer?.failed ?? 0),
        },
        request.fee,
        request.limits,
      );
      if (problem) return { granted: false, reason: 'sponsor_limit_exceeded', message: problem };
      const books = new Map<string, { next: bigint; released: bigint[] }>();
      for (const candidate of request.candidates) {
        const account = { network: request.network, sponsor: candidate.sponsor };
        const next = await this.#lockSponsor(trx, account);
        const released = await trx
          .selectFrom('x402_sponsor_released')
          .select('nonce')
          .where('network', '=', account.network)
          .where('sponsor', '=', account.sponsor)
          .execute();
        books.set(candidate.sponsor, { next, released: released.map((r) => BigInt(r.nonce)) });
      }
      const choice = chooseSponsorNonce(
        request.candidates,
        (sponsor) => books.get(sponsor)!,
        request.capacity,
      );
      if (!choice) {
        return {
          granted: false,
          reason: 'sponsor_capacity_exhausted',
          message: `every sponsor key has ${request.capacity} transactions pending`,
        };
      }
      const account = { network: request.network, sponsor: choice.sponsor };
      const forget = [...choice.stale, ...(choice.reused ? [choice.nonce] : [])];
      if (forget.length > 0) {
        await trx
          .deleteFrom('x402_sponsor_released')
          .where('network', '=', account.network)
          .where('sponsor', '=', account.sponsor)
          .where(
            'nonce',
            'in',
            forget.map((nonce) => nonce.toString()),
          )
          .execute();
      }
      await setNext(trx, account, choice.next);
      // The settlement before the fee table: a migration step starting in another process locks them in that order.
      await trx
        .updateTable('x402_settlements')
        .set({
          sponsor: choice.sponsor,
          sponsor_nonce: choice.nonce.toString(),
          updated_at: String(this.#now()),
        })
        .where('payment_txid', '=', paymentTxid)
        .execute();
      await trx
        .insertInto('x402_sponsor_fees')
        .values({
          payment_txid: paymentTxid,
          network: request.network,
          payer: request.payer,
          sponsor: choice.sponsor,
          nonce: choice.nonce.toString(),
          fee: request.fee.toString(),
          at: String(now),
          failed: 0,
        })
        .onConflict((conflict) =>
          conflict.column('payment_txid').doUpdateSet({
            sponsor: choice.sponsor,
            nonce: choice.nonce.toString(),
            fee: request.fee.toString(),
            at: String(now),
            failed: 0,
            // A hold belongs to the sponsorship it was taken on, never to a new one on the same row.
            stranded_at: null,
          }),
        )
        .execute();
      return { granted: true, sponsor: choice.sponsor, nonce: choice.nonce };
    });
  }

  async releaseSponsorship(
    txid: string,
    reuse: boolean,
    claimedAt?: number,
    options: ReleaseSponsorshipOptions = {},
  ): Promise<void> {
    const record = await this.get(txid);
    if (!record) return;
    await this.#exclusive(record.network, async (trx) => {
      // Read again under the lock every sponsorship takes: a claim made since cannot gain its hold meanwhile.
      if (claimedAt !== undefined) {
        const current = await trx
          .selectFrom('x402_settlements')
          .select('created_at')
          .where('payment_txid', '=', record.paymentTxid)
          .executeTakeFirst();
        if (current === undefined || Number(current.created_at) !== claimedAt) return;
      }
      await this.#releaseSponsorship(trx, record.paymentTxid, reuse, options.chargePayerAt);
    });
  }

  async recordSponsorFailure(txid: string): Promise<void> {
    const record = await this.get(txid);
    if (!record) return;
    await this.#db
      .updateTable('x402_sponsor_fees')
      .set({ failed: 1 })
      .where('payment_txid', '=', record.paymentTxid)
      .execute();
  }

  async takeSponsorGap(account: SponsorAccount, nonce: bigint): Promise<boolean> {
    return this.#exclusive(account.network, async (trx) => {
      const holder = await trx
        .selectFrom('x402_sponsor_fees as f')
        .innerJoin('x402_settlements as s', 's.payment_txid', 'f.payment_txid')
        .select('f.payment_txid')
        .where('f.network', '=', account.network)
        .where('f.sponsor', '=', account.sponsor)
        .where('f.nonce', '=', nonce.toString())
        .where('s.state', 'in', ['claimed', 'broadcast'])
        .executeTakeFirst();
      if (holder) return false;
      // A failed settlement whose transaction spent neither nonce (refused, or dropped from the mempool) holds the
      // nonce only until its tracker releases it, a step after the failure (after a chain read, for a refusal being
      // judged). The hold goes now: that release, ending after this filler was sent, finds nothing to hand back.
      await trx
        .deleteFrom('x402_sponsor_fees')
        .where('network', '=', account.network)
        .where('sponsor', '=', account.sponsor)
        .where('nonce', '=', nonce.toString())
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('x402_settlements as s')
              .select('s.payment_txid')
              .whereRef('s.payment_txid', '=', 'x402_sponsor_fees.payment_txid')
              .where('s.state', '=', 'failed')
              .where('s.nonce_claimed', '=', 0),
          ),
        )
        .execute();
      const next = await this.#lockSponsor(trx, account);
      await trx
        .deleteFrom('x402_sponsor_released')
        .where('network', '=', account.network)
        .where('sponsor', '=', account.sponsor)
        .where('nonce', '=', nonce.toString())
        .execute();
      if (nonce >= next) await setNext(trx, account, nonce + 1n);
      return true;
    });
  }

  async holdStrandedNonce(paymentTxid: string, claimedAt: number): Promise<boolean> {
    // Under the lock every release of a sponsor nonce takes: one that comes later sees the mark. A failure that lands
    // between the read and the mark is released later, so it sees the mark too.
    return this.#exclusiveOn(paymentTxid, false, async (trx, known) => {
      const current = await trx
        .selectFrom('x402_settlements')
        .select(['state', 'created_at'])
        .where('payment_txid', '=', known.paymentTxid)
        .executeTakeFirst();
      if (current?.state !== 'broadcast' || Number(current.created_at) !== claimedAt) return false;
      const marked = await trx
        .updateTable('x402_sponsor_fees')
        .set({ stranded_at: String(this.#now()) })
        .where('payment_txid', '=', known.paymentTxid)
        .where('nonce', '>=', '0')
        .executeTakeFirst();
      return marked.numUpdatedRows > 0n;
    });
  }

  async recordAnswer(
    paymentTxid: string,
    answer: SettlementAnswer,
    claimedAt?: number,
  ): Promise<SettlementAnswer | undefined> {
    const write = {
      id: normalize(paymentTxid),
      answer,
      now: String(this.#now()),
      claimedAt: claimedAt === undefined ? null : String(claimedAt),
    };
    const stored = this.#answers
      ? await this.#answers(write)
      : (await this.#run(this.#hot.recordAnswer(write))).rows.length > 0;
    return stored ? undefined : ((await this.answerOf(write.id)) ?? answer);
  }

  async promoteAnswer(paymentTxid: string, claimedAt?: number): Promise<boolean> {
    const id = normalize(paymentTxid);
    const now = String(this.#now());
    // One conditional update: of concurrent calls, across processes, the row changes for one only.
    const { rows } = await this.#run(
      claimedAt === undefined
        ? this.#hot.promoteAnswer({ id, now })
        : this.#hot.promoteClaimAnswer({ id, now, claimedAt: String(claimedAt) }),
    );
    return rows.length > 0;
  }

  async answerOf(paymentTxid: string, claimedAt?: number): Promise<SettlementAnswer | undefined> {
    const {
      rows: [row],
    } = await this.#run<Pick<Selectable<AnswersTable>, 'answer' | 'claimed_at'>>(
      this.#hot.answerOf({ id: normalize(paymentTxid) }),
    );
    if (!row) return undefined;
    const stored = {
      answer: row.answer as SettlementAnswer,
      claimedAt: row.claimed_at === null ? undefined : Number(row.claimed_at),
    };
    return answerForClaim(stored, claimedAt);
  }

  async bindPaymentId(
    key: PaymentIdKey,
    paymentTxid: string,
    now: number,
    windowMs: number,
  ): Promise<PaymentIdBinding> {
    const values = {
      network: key.network,
      payer: key.payer,
      id: key.id,
      payment_txid: normalize(paymentTxid),
      bound_at: String(now),
      replays: 0,
    };
    // One statement: a new id is inserted, a lapsed one taken over, a live one left as it is (and read below).
    for (;;) {
      const taken = await this.#db
        .insertInto('x402_payment_ids')
        .values(values)
        .onConflict((conflict) =>
          conflict
            .columns(['network', 'payer', 'id'])
            .doUpdateSet({
              payment_txid: values.payment_txid,
              bound_at: values.bound_at,
              replays: 0,
            })
            .where('x402_payment_ids.bound_at', '<=', String(now - windowMs)),
        )
        .returningAll()
        .executeTakeFirst();
      if (taken) return toBinding(taken);
      const live = await this.paymentIdBinding(key);
      // Pruned between the two statements: bind again.
      if (live) return live;
    }
  }

  async paymentIdBinding(key: PaymentIdKey): Promise<PaymentIdBinding | undefined> {
    const row = await this.#db
      .selectFrom('x402_payment_ids')
      .selectAll()
      .where('network', '=', key.network)
      .where('payer', '=', key.payer)
      .where('id', '=', key.id)
      .executeTakeFirst();
    return row && toBinding(row);
  }

  async replayPaymentId(
    key: PaymentIdKey,
    paymentTxid: string,
    now: number,
    windowMs: number,
    maxReplays: number,
  ): Promise<PaymentIdReplay> {
    const txid = normalize(paymentTxid);
    // The count and its bounds in one guarded update: racing replays across processes each take one of the rows'
    // turns, and past the limit none is counted.
    const counted = await this.#db
      .updateTable('x402_payment_ids')
      .set((eb) => ({ replays: eb('replays', '+', 1) }))
      .where('network', '=', key.network)
      .where('payer', '=', key.payer)
      .where('id', '=', key.id)
      .where('payment_txid', '=', txid)
      .where('bound_at', '>', String(now - windowMs))
      .where('replays', '<', maxReplays)
      .returning('replays')
      .executeTakeFirst();
    if (counted) return 'replayed';
    const bound = await this.paymentIdBinding(key);
    if (!bound) return 'unbound';
    return bound.paymentTxid === txid ? 'exhausted' : 'conflict';
  }

  async prunePaymentIds(before: number, keep?: PaymentIdRetention): Promise<void> {
    if (!keep) {
      await this.#db
        .deleteFrom('x402_payment_ids')
        .where('bound_at', '<', String(before))
        .execute();
      return;
    }
    const { unservedBefore, judgedFrom = unservedBefore } = keep;
    const judgedSince = Math.max(judgedFrom, unservedBefore);
    // Two ranges of the bound_at index, not one condition over every id past the window: each id is judged once, as
    // it leaves the window, and the ids kept are not read again round after round. One transaction: one commit.
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('x402_payment_ids')
        .where('bound_at', '<', String(Math.min(before, unservedBefore)))
        .execute();
      if (judgedSince >= before) return;
      await trx
        .deleteFrom('x402_payment_ids')
        .where('bound_at', '>=', String(judgedSince))
        .where('bound_at', '<', String(before))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('x402_settlements as s')
                .select('s.payment_txid')
                .whereRef('s.payment_txid', '=', 'x402_payment_ids.payment_txid')
                .where('s.resource', 'is not', null)
                .where(({ eb, or, and, not: none, exists: any, selectFrom: from }) =>
                  and([
                    none(
                      any(
                        from('x402_answers as a')
                          .select('a.payment_txid')
                          .whereRef('a.payment_txid', '=', 's.payment_txid')
                          .where('a.answer', '=', 'success'),
                      ),
                    ),
                    or([
                      eb('s.state', '!=', 'failed'),
                      // A drop: its payer nonce given back (a failure on chain keeps it).
                      and([
                        eb('s.error_reason', '=', 'transaction_failed'),
                        eb('s.nonce_claimed', '=', 0),
                      ]),
                    ]),
                  ]),
                ),
            ),
          ),
        )
        .execute();
    });
  }

  async pruneSponsorFees(before: number): Promise<void> {
    await this.#db
      .deleteFrom('x402_sponsor_fees')
      .where('at', '<', String(before))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('x402_settlements as s')
              .select('s.payment_txid')
              .whereRef('s.payment_txid', '=', 'x402_sponsor_fees.payment_txid')
              .where('s.state', 'in', ['claimed', 'broadcast']),
          ),
        ),
      )
      .execute();
  }

  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const expiresAt = String(now + ttlMs);
    const row = await this.#db
      .insertInto('x402_leases')
      .values({ name, holder, expires_at: expiresAt })
      .onConflict((conflict) =>
        conflict
          .column('name')
          .doUpdateSet({ holder, expires_at: expiresAt })
          .where((eb) =>
            eb.or([
              eb('x402_leases.holder', '=', holder),
              eb('x402_leases.expires_at', '<=', String(now)),
            ]),
          ),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  async readLease(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = await this.#db
      .selectFrom('x402_leases')
      .select(['holder', 'expires_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row && { holder: row.holder, expiresAt: Number(row.expires_at) };
  }

  /** Deletes a settlement's fee hold and, when `reuse`, hands its nonce back to the pool. */
  async #releaseSponsorship(
    trx: Kysely<LedgerDatabase>,
    paymentTxid: string,
    reuse: boolean,
    chargePayerAt?: number,
  ) {
    const fee =
      chargePayerAt !== undefined
        ? await this.#chargeSponsorshipToPayer(trx, paymentTxid, chargePayerAt)
        : await trx
            .deleteFrom('x402_sponsor_fees')
            .where('payment_txid', '=', paymentTxid)
            .where('nonce', '>=', '0')
            .returning(['network', 'sponsor', 'nonce', 'stranded_at'])
            .executeTakeFirst();
    // A nonce the keeper sends fillers over (`holdStrandedNonce`) is never handed to a payment.
    if (!fee || !reuse || fee.stranded_at !== null) return;
    const account = { network: fee.network as SponsorAccount['network'], sponsor: fee.sponsor };
    const nonce = BigInt(fee.nonce);
    // Kept as released even when it is the highest handed out: lowering `next` instead would lose it to a chain view
    // that still counts it pending, and a gap would open below the next reservation.
    if (nonce >= (await this.#lockSponsor(trx, account))) return;
    await trx
      .insertInto('x402_sponsor_released')
      .values({ network: account.network, sponsor: account.sponsor, nonce: nonce.toString() })
      .onConflict((conflict) => conflict.doNothing())
      .execute();
  }

  /**
   * Turns a sponsorship's fee record into its payer's failure from `at` on: no nonce held (-1, never a sponsor's), no
   * fee, failed.
   * @returns the nonce it held, or nothing when it held none.
   */
  async #chargeSponsorshipToPayer(trx: Kysely<LedgerDatabase>, paymentTxid: string, at: number) {
    const fee = await trx
      .selectFrom('x402_sponsor_fees')
      .select(['network', 'sponsor', 'nonce', 'stranded_at'])
      .where('payment_txid', '=', paymentTxid)
      .where('nonce', '>=', '0')
      .executeTakeFirst();
    if (!fee) return undefined;
    await trx
      .updateTable('x402_sponsor_fees')
      .set({ nonce: '-1', fee: '0', failed: 1, at: String(at) })
      .where('payment_txid', '=', paymentTxid)
      .execute();
    return fee;
  }

  /**
   * Runs `work` in a transaction no other writer can interleave with: PostgreSQL takes the network's sponsorship
   * lock and locks the sponsor rows it reads (`FOR UPDATE`, in #lockSponsor); on SQLite the transaction runs inside a
   * batch that took the write lock up front (`BEGIN IMMEDIATE`), since two deferred transactions that both read first
   * can deadlock.
   */
  async #exclusive<T>(
    network: string,
    work: (trx: Kysely<LedgerDatabase>) => Promise<T>,
  ): Promise<T> {
    if (this.#dialect === 'postgres') {
      return this.#db.transaction().execute(async (trx) => {
        // One sponsorship at a time per network: the limits count across payers and keys, not one row.
        await sql`select pg_advisory_xact_lock(hashtext(${`x402_sponsorship:${network}`}))`.execute(
          trx,
        );
        return work(trx);
      });
    }
    // The SQLite dialect (sqlite-group-commit.ts) takes the write lock as the transaction begins.
    return this.#db.transaction().execute(work);
  }

  /** {@link #exclusive} on the network of the settlement `txid` names (either txid); `absent` when there is none. */
  async #exclusiveOn<T>(
    txid: string,
    absent: T,
    work: (trx: Kysely<LedgerDatabase>, known: SettlementRecord) => Promise<T>,
  ): Promise<T> {
    const known = await this.get(normalize(txid));
    if (!known) return absent;
    return this.#exclusive(known.network, (trx) => work(trx, known));
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

/** A claim's payer, as the per-payer queue keys it. */
function pairOf(values: Pick<ClaimValues, 'network' | 'payer'>): string {
  return `${values.network}\u0000${values.payer}`;
}

/** A claim to send as the ledger would store it: what `admit` is asked about first, the claim alone in flight. */
function claimedAlone(values: ClaimValues): SettlementRecord {
  return toRecord({
    payment_txid: values.paymentTxid,
    txid: values.txid,
    network: values.network,
    payer: values.payer,
    nonce: values.nonce,
    nonce_claimed: 1,
    sponsor: values.sponsor,
    sponsor_nonce: values.sponsorNonce,
    amount: values.amount,
    asset: values.asset,
    pay_to: values.payTo,
    transaction: values.transaction,
    state: 'broadcast',
    error_reason: values.errorReason,
    error_message: values.errorMessage,
    block_height: values.blockHeight,
    holder: values.holder,
    resource: values.resource,
    created_at: values.now,
    updated_at: values.now,
  } as Row);
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
    ...(row.holder === null || row.holder === undefined ? {} : { holder: row.holder }),
    ...(row.resource === null || row.resource === undefined ? {} : { resource: row.resource }),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  });
}

/**
 * Of the rows naming `id`, the one whose own payment it is, else one that sent it as its transaction: two rows can
 * name one id only when a sponsored transaction's id is another payment's.
 */
function ownRow(id: string, rows: readonly Row[]): Row | undefined {
  return rows.find((row) => row.payment_txid === id) ?? rows.find((row) => row.txid === id);
}

/** The rows of a replay lookup as `Ledger.lookup` answers: the settlement naming `id`, and the payer's in flight. */
function splitLookup(id: string, network: string, payer: string, rows: readonly Row[]) {
  const records = rows.map(toRecord);
  const own = ownRow(id, rows);
  return {
    settled: own === undefined ? undefined : records[rows.indexOf(own)],
    inFlight: records.filter(
      (r) =>
        r.network === network &&
        r.payer === payer &&
        (r.state === 'claimed' || r.state === 'broadcast'),
    ),
  };
}

function toBinding(row: Selectable<LedgerDatabase['x402_payment_ids']>): PaymentIdBinding {
  return Object.freeze({
    paymentTxid: row.payment_txid,
    boundAt: Number(row.bound_at),
    replays: Number(row.replays),
  });
}

function normalize(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
