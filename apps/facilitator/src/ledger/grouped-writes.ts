/**
 * The writes that many settlements make at once, one PostgreSQL statement per turn each (`turn-group.ts`): a move
 * between states (the write-ahead mark before broadcast, the final state a status round saw), and the answer given.
 * Settlements move through the steps together: a status round reads every followed settlement at once, and a grouped
 * read answers its callers in one turn, so their next writes arrive together too.
 *
 * Each write keeps its own guard in the statement, so a group changes exactly the rows the same calls made one by one
 * in some order would: two calls in one group that move the same row are two concurrent calls, and one of them finds
 * the row already moved, as it would have alone.
 * @module
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { LedgerDatabase } from './schema.js';
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

/** An answer to store for a payment, unless one is stored already. */
export type AnswerWrite = { readonly id: string; readonly answer: string; readonly now: string };

/**
 * The lone update's guards (the state it moves from, the claim's time) per row. A row matched by two inputs is
 * updated once (PostgreSQL's UPDATE … FROM), and only that input gets it back.
 */
const GROUPED_MOVES = `update x402_settlements s set state = k.state, updated_at = k.now,
    txid = coalesce(k.txid, s.txid), transaction = coalesce(k.transaction, s.transaction),
    block_height = coalesce(k.block_height, s.block_height)
  from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::integer[], $8::bigint[])
    with ordinality as k(id, from_state, state, now, txid, transaction, block_height, claimed_at, i)
  where (s.payment_txid = k.id or s.txid = k.id) and s.state = k.from_state
    and (k.claimed_at is null or s.created_at = k.claimed_at)
  returning k.i, s.*`;

const GROUPED_ANSWERS = `insert into x402_answers (payment_txid, answer, at)
  select id, answer, at from unnest($1::text[], $2::text[], $3::bigint[]) as k(id, answer, at)
  on conflict do nothing returning payment_txid`;

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
 * Stores answers, each only where none is stored: each call answers whether its own was stored. Of two calls for one
 * payment in a group, the first is stored, as if it had run first alone.
 * @example
 * ```ts
 * const store = groupedAnswers(db);
 * const stored = await store({ id, answer: 'success', now: String(Date.now()) });
 * ```
 */
export function groupedAnswers(
  db: Kysely<LedgerDatabase>,
): (write: AnswerWrite) => Promise<boolean> {
  return groupPerTurn(async (writes: readonly AnswerWrite[]) => {
    const first = new Map<string, number>();
    for (const [index, write] of writes.entries())
      if (!first.has(write.id)) first.set(write.id, index);
    const unique = [...first.values()].map((index) => writes[index]!);
    const { rows } = await db.executeQuery<{ payment_txid: string }>(
      CompiledQuery.raw(GROUPED_ANSWERS, [
        unique.map((write) => write.id),
        unique.map((write) => write.answer),
        unique.map((write) => write.now),
      ]),
    );
    const stored = new Set(rows.map((row) => row.payment_txid));
    return writes.map((write, index) => first.get(write.id) === index && stored.has(write.id));
  });
}
