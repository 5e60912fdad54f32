/**
 * The replay reads (every verify's lookup, every settle's read by txid) of one event-loop turn as one PostgreSQL
 * statement (`turn-group.ts`). A read of a payer's settlements in flight that judges a claim is not one of them: it
 * takes the payer's lock (`payer-claims.ts`).
 *
 * A grouped read is still a read: each caller gets the rows a statement of its own would have returned at some point
 * between its call and its answer, which is all a lone statement promises too. The claim, not this read, is what
 * makes a replay refusal atomic.
 * @module
 */
import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { HOLDS_NONCE_SQL, IN_FLIGHT_SQL, type LedgerDatabase } from './schema.js';
import { groupPerTurn } from './turn-group.js';

/** One read: the settlements naming `id` (when given), and those in flight for (network, payer) when both are given. */
export type SettlementRead = {
  readonly id: string | null;
  readonly network: string | null;
  readonly payer: string | null;
};

/**
 * One flat statement for the whole group: each side of the OR is an index scan over an array (a BitmapOr of the
 * primary key, the txid key and the partial in-flight index, `IN_FLIGHT_INDEX` in schema.ts), and the rows are handed
 * to their reads here. A null id, network or payer matches nothing (`= null` is never true): a read by id alone leaves
 * the pair null, a read of the payer's settlements in flight leaves the id null.
 *
 * Flat rather than one lateral subquery per read: the server plans every run (`named-statements.ts`), and planning
 * the lateral join of three ORed index conditions cost more than running it. On an analyzed table of 50,000
 * settlements, a group of five fresh reads took 0.33 ms a round trip that way (0.23 ms of it planning), and 0.16 ms
 * flat. The pairs match as a cross product (any network with any payer of the group), so a row may come back for a
 * pair nobody asked about: {@link rowsOf} keeps each read to its own rows. Each array holds its values once: a
 * group's reads nearly all name one network, and an array repeating it made the planner expect the index scan on the
 * pair to cost the group's size over again.
 */
export const GROUPED_LOOKUP = `select * from x402_settlements
  where payment_txid = any($1::text[]) or txid = any($1::text[])
    or (network = any($2::text[]) and payer = any($3::text[]) and ${HOLDS_NONCE_SQL}
      and ${IN_FLIGHT_SQL})`;

/**
 * Reads settlements on PostgreSQL, the reads of one turn in one statement.
 * @example
 * ```ts
 * const read = groupedReads<Row>(db);
 * const rows = await read({ id, network, payer });
 * ```
 */
export function groupedReads<Row extends SettlementRow>(
  db: Kysely<LedgerDatabase>,
): (read: SettlementRead) => Promise<Row[]> {
  return groupPerTurn(async (reads: readonly SettlementRead[]) => {
    const { rows } = await db.executeQuery<Row>(
      CompiledQuery.raw(GROUPED_LOOKUP, [
        distinct(reads.map((read) => read.id)),
        distinct(reads.map((read) => read.network)),
        distinct(reads.map((read) => read.payer)),
      ]),
    );
    return reads.map((read) => rowsOf(read, rows));
  });
}

/** The columns a read is matched on. */
type SettlementRow = Pick<
  Selectable<LedgerDatabase['x402_settlements']>,
  'payment_txid' | 'txid' | 'network' | 'payer' | 'nonce_claimed' | 'state'
>;

/** The rows one read's own statement would have returned: its id's, and its payer's in flight. */
function rowsOf<Row extends SettlementRow>(read: SettlementRead, rows: readonly Row[]): Row[] {
  return rows.filter(
    (row) =>
      (read.id !== null && (row.payment_txid === read.id || row.txid === read.id)) ||
      (row.network === read.network &&
        row.payer === read.payer &&
        Number(row.nonce_claimed) === 1 &&
        (row.state === 'claimed' || row.state === 'broadcast')),
  );
}

/** The values once each, nulls left out (they match nothing). */
function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((value) => value !== null))];
}
