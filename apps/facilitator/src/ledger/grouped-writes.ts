/**
 * The writes that many settlements make at once, one PostgreSQL statement per turn each (`turn-group.ts`): the
 * claim, a move between states (the write-ahead mark before broadcast, the final state a status round saw), and the
 * answer given.
 * Settlements move through the steps together: a status round reads every followed settlement at once, and a grouped
 * read answers its callers in one turn, so their next writes arrive together too.
 *
 * Each write keeps its own guard in the statement, so a group changes exactly the rows the same calls made one by one
 * in some order would: two calls in one group that move the same row are two concurrent calls, and one of them finds
 * the row already moved, as it would have alone.
 * @module
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { keyedQueue } from './keyed-queue.js';
import {
  type ClaimAnswer,
  type ClaimRow,
  type ClaimWrite,
  claimAnswers,
  claimQuery,
} from './payer-claims.js';
import { ANSWER_GIVES_WAY_SQL, type LedgerDatabase } from './schema.js';
import { groupPerTurn } from './turn-group.js';

/**
 * A settlement's move out of one state, setting the txid, the transaction or the block height where given (null
 * leaves the stored value), and only for the claim made at `claimedAt` when given.
 */
export type StateMove = {
  readonly id: string;
  readonly from: string;
  readonly state: string;
  readonly now: string;
  readonly txid: string | null;
  readonly transaction: string | null;
  readonly blockHeight: number | null;
  readonly claimedAt: string | null;
};

/** An answer to store for a payment, about the claim made at `claimedAt` (null: none named), unless one is stored. */
export type AnswerWrite = {
  readonly id: string;
  readonly answer: string;
  readonly now: string;
  readonly claimedAt: string | null;
};

/**
 * The lone update's guards (the state it moves from, the claim's time) per row. A row matched by two inputs is
 * updated once (PostgreSQL's UPDATE … FROM), and only that input gets it back.
 *
 * The state guard is `is not distinct from` (the same as `=` here: neither side is ever null) because the planner
 * cannot hash or merge on it. With `=`, while a table's statistics lagged its growth (a new ledger under load, before
 * autovacuum first analyzed it), the planner joined on state by a hash join over a sequential scan, every settlement
 * compared with every input, so each status round cost more as the table grew. The one join left is the nested loop
 * over the two id indexes.
 */
export const GROUPED_MOVES = `update x402_settlements s set state = k.state, updated_at = k.now,
    txid = coalesce(k.txid, s.txid), transaction = coalesce(k.transaction, s.transaction),
    block_height = coalesce(k.block_height, s.block_height)
  from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::integer[], $8::bigint[])
    with ordinality as k(id, from_state, state, now, txid, transaction, block_height, claimed_at, i)
  where (s.payment_txid = k.id or s.txid = k.id) and s.state is not distinct from k.from_state
    and (k.claimed_at is null or s.created_at = k.claimed_at)
  returning k.i, s.*`;

/** The lone answer's upsert, one row per payment: a stored answer stays unless it gives way (schema.ts). */
const GROUPED_ANSWERS = `insert into x402_answers (payment_txid, answer, at, claimed_at)
  select id, answer, at, claimed_at
  from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) as k(id, answer, at, claimed_at)
  on conflict (payment_txid) do update
    set answer = excluded.answer, at = excluded.at, claimed_at = excluded.claimed_at
    where ${ANSWER_GIVES_WAY_SQL}
  returning payment_txid`;

/**
 * Moves settlements between states: each call answers the updated row, or undefined when its guards did not hold.
 * @example
 * ```ts
 * const move = groupedMoves<Row>(db);
 * const row = await move({ id, from: 'broadcast', state: 'success', now: String(Date.now()), txid: null,
 *   transaction: null, blockHeight: 7, claimedAt: null });
 * ```
 */
export function groupedMoves<Row>(
  db: Kysely<LedgerDatabase>,
): (move: StateMove) => Promise<Row | undefined> {
  return groupPerTurn(async (moves: readonly StateMove[]) => {
    const { rows } = await db.executeQuery<Row & { i: string | number }>(
      CompiledQuery.raw(GROUPED_MOVES, [
        moves.map((move) => move.id),
        moves.map((move) => move.from),
        moves.map((move) => move.state),
        moves.map((move) => move.now),
        moves.map((move) => move.txid),
        moves.map((move) => move.transaction),
        moves.map((move) => move.blockHeight),
        moves.map((move) => move.claimedAt),
      ]),
    );
    const answers: (Row | undefined)[] = moves.map(() => undefined);
    for (const { i, ...row } of rows) answers[Number(i) - 1] = row as Row;
    return answers;
  });
}

/**
 * Claims settlements under their payers' locks, taken only where free now (`payer-claims.ts`): each call answers its
 * inserted row, if any, with its payer's settlements in flight, or that its payer was locked out; or `alone` when
 * another claim of the same group names one of its keys (the payment, the txid, or the payer's nonce): that one runs
 * alone after the group, so the two never meet inside one statement and the first is claimed, as if it had run first
 * alone.
 * @example
 * ```ts
 * const claim = groupedClaims<Row>(db);
 * const answer = await claim(write); // then, for 'alone', the lone claim
 * ```
 */
export function groupedClaims<Row extends { payment_txid: string; network: string; payer: string }>(
  db: Kysely<LedgerDatabase>,
): (claim: ClaimWrite) => Promise<ClaimAnswer<Row> | 'alone'> {
  return groupPerTurn(async (claims: readonly ClaimWrite[]) => {
    const keys = new Set<string>();
    const together: ClaimWrite[] = [];
    const alone = claims.map((claim) => {
      const own = [
        `p:${claim.paymentTxid}`,
        `t:${claim.txid}`,
        `n:${claim.network}\u0000${claim.payer}\u0000${claim.nonce}`,
      ];
      if (own.some((key) => keys.has(key))) return true;
      for (const key of own) keys.add(key);
      together.push(claim);
      return false;
    });
    // A turn's claims never wait for a payer's lock: a payer another claim holds is locked out, and waits apart.
    const { rows } = await db.executeQuery<ClaimRow<Row>>(claimQuery(together, { wait: false }));
    const answers = claimAnswers(together, rows);
    let next = 0;
    return alone.map((isAlone) => (isAlone ? 'alone' : answers[next++]!));
  });
}

/**
 * Stores answers, each only where none is stored or the stored one gives way: each call answers whether its own was
 * stored. Calls about one payment are written one after another, each in a turn after the one before it has answered,
 * so the second meets what the first left: whether an answer is stored depends on its own claim (a pending answer
 * about a claim released since gives way to one about the claim held now), so a refused first call must not stand for
 * the second. A group therefore names each payment once (an upsert may not touch one row twice) and is one statement:
 * when it fails nothing of it was written, and each call is tried again alone (`turn-group.ts`). Its rows go in the
 * order of their payments, so that two processes take the rows' locks in one order.
 * @example
 * ```ts
 * const store = groupedAnswers(db);
 * const stored = await store({ id, answer: 'success', now: String(Date.now()), claimedAt: String(claim.createdAt) });
 * ```
 */
export function groupedAnswers(
  db: Kysely<LedgerDatabase>,
): (write: AnswerWrite) => Promise<boolean> {
  const store = groupPerTurn(async (writes: readonly AnswerWrite[]) => {
    const sorted = [...writes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const column = <K extends keyof AnswerWrite>(key: K) => sorted.map((write) => write[key]);
    const { rows } = await db.executeQuery<{ payment_txid: string }>(
      CompiledQuery.raw(GROUPED_ANSWERS, [
        column('id'),
        column('answer'),
        column('now'),
        column('claimedAt'),
      ]),
    );
    const written = new Set(rows.map((row) => row.payment_txid));
    return writes.map((write) => written.has(write.id));
  });
  // A payment's next call starts once the one before it has answered.
  const queue = keyedQueue();
  return (write) => queue.run(write.id, () => store(write));
}
