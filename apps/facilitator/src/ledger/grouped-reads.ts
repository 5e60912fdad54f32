/**
 * The replay reads (every verify's lookup, every settle's read by txid and of the payer's settlements in flight) of one event-loop turn as one PostgreSQL
 * statement (`turn-group.ts`).
 *
 * A grouped read is still a read: each caller gets the rows a statement of its own would have returned at some point
 * between its call and its answer, which is all a lone statement promises too. The claim, not this read, is what
 * makes a replay refusal atomic.
 * @module
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { LedgerDatabase } from './schema.js';
import { groupPerTurn } from './turn-group.js';

/** One read: the settlements naming `id` (when given), and those in flight for (network, payer) when both are given. */
export type SettlementRead = {
  readonly id: string | null;
  readonly network: string | null;
  readonly payer: string | null;
};

/**
 * Every read names its own row of the input arrays (`ordinality`), and the lateral subquery is the lone lookup's
 * WHERE with that row's values, so the planner uses the same three indexes per row (a BitmapOr). A null network or
 * payer matches no in-flight row (`= null` is never true): that is a read by id alone; a null id, a read of the
 * payer's settlements in flight alone.
 */
export const GROUPED_LOOKUP = `select k.i, s.* from unnest($1::text[], $2::text[], $3::text[]) with ordinality as k(id, network, payer, i)
  cross join lateral (select * from x402_settlements s where s.payment_txid = k.id or s.txid = k.id
    or (s.network = k.network and s.payer = k.payer and s.nonce_claimed = 1 and s.state in ('claimed', 'broadcast'))) s`;

/**
 * Reads settlements on PostgreSQL, the reads of one turn in one statement.
 * @example
 * ```ts
 * const read = groupedReads<Row>(db);
 * const rows = await read({ id, network, payer });
 * ```
 */
export function groupedReads<Row>(
  db: Kysely<LedgerDatabase>,
): (read: SettlementRead) => Promise<Row[]> {
  return groupPerTurn(async (reads: readonly SettlementRead[]) => {
    const { rows } = await db.executeQuery<Row & { i: string | number }>(
      CompiledQuery.raw(GROUPED_LOOKUP, [
        reads.map((read) => read.id),
        reads.map((read) => read.network),
        reads.map((read) => read.payer),
      ]),
    );
    const answers = reads.map((): Row[] => []);
    for (const { i, ...row } of rows) answers[Number(i) - 1]!.push(row as Row);
    return answers;
  });
}
