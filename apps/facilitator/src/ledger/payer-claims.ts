/**
 * Claims on PostgreSQL under a lock per payer, so that a claim and the read of the payer's settlements in flight that
 * judges it are one round trip, and a payment nothing stands before is claimed and marked `broadcast` in that same
 * round trip.
 *
 * Why a lock: at PostgreSQL's read committed, two transactions that each insert a claim and then read the payer's
 * settlements in flight each read before the other commits, and both pass a funds check that together they fail. A
 * claim committed before its read (the three steps the facilitator made before) is safe without one, since of two such
 * the later read sees both, but it costs a round trip more. Here every claim, and every read of a payer's settlements
 * in flight that judges one, first takes the payer's lock, held to the end of its transaction, and reads after it
 * (a volatile function's statement sees what committed before it began): of two claims of one payer, made either way,
 * the one that reads second waits for the first to commit and sees it. That needs read committed: under a stricter
 * isolation the whole statement would read one snapshot taken before the lock, so the functions refuse to run there.
 *
 * The lock is an advisory one, in a key space of its own (two int4 keys, the first {@link PAYER_LOCK_CLASS}), keyed by
 * a hash of the schema, the network and the payer: two payers whose hashes meet only wait on each other.
 *
 * A turn's statement never waits for a payer's lock: it tries each of its payers' locks, and claims nothing for a
 * payer whose lock another claim holds, so one payer's claims, however many, never hold up the other payers of a turn.
 * Such a claim then waits for the lock in a statement of its own (`sql-ledger.ts` bounds how many wait at once). A
 * statement waiting holds one lock only, and holders of a lock wait only as any insert does, for a row of the same
 * payment or nonce another transaction is inserting, moving or releasing, none of which waits for a payer's lock: the
 * waits never meet in a cycle. A lock held by a transaction is held across its client's round trips (a claim judged
 * with the payer's others), so each ledger connection ends a transaction left idle (a process frozen mid-claim) after
 * {@link IDLE_TRANSACTION_LIMIT}.
 *
 * Both functions are created at open ({@link migratePayerClaims}) under names that carry a hash of their SQL: a release
 * that changes one creates its successor beside it, and processes of the release before keep theirs during a rolling
 * upgrade. Two releases exclude each other only while the lock's key ({@link PAYER_LOCK_CLASS} and `payerKey`) stays
 * the same: change it and a rolling upgrade has claims of one payer that do not wait for each other. A process of a
 * release before these functions reads a payer's settlements in flight without the lock:
 * while it runs beside this one, two claims of one payer, one from each, can still each miss the other.
 * @module
 */
import { createHash } from 'node:crypto';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import type pg from 'pg';
import { HOLDS_NONCE_SQL, IN_FLIGHT_SQL, type LedgerDatabase } from './schema.js';

/** The first key of every payer lock: this key space is the ledger's own. */
export const PAYER_LOCK_CLASS = 4_020_403;

/**
 * How a claim goes in:
 * - `claim`: in state `claimed`;
 * - `send_alone`: in state `broadcast`, only when the payer has nothing else in flight, here or in the same call;
 *   otherwise it is left out (its caller judges it with the payer's settlements in flight, in a transaction);
 * - `send`: in state `broadcast`, whatever else is in flight: only inside a transaction its caller rolls back when the
 *   judgement refuses it.
 */
export type ClaimMode = 'claim' | 'send_alone' | 'send';

/** A new settlement's claim, its values as the statement binds them (strings for the bigint columns). */
export type ClaimWrite = {
  readonly paymentTxid: string;
  readonly txid: string;
  readonly network: string;
  readonly payer: string;
  readonly nonce: string;
  readonly sponsor: string | null;
  readonly sponsorNonce: string | null;
  readonly amount: string;
  readonly asset: string;
  readonly payTo: string;
  readonly transaction: string;
  readonly errorReason: string | null;
  readonly errorMessage: string | null;
  readonly blockHeight: number | null;
  readonly holder: string | null;
  readonly resource: string | null;
  readonly now: string;
  readonly mode: ClaimMode;
};

/**
 * How long a ledger connection's transaction may sit idle before the server ends it: ample for a claim judged with the
 * payer's others (two round trips), and a bound on how long a frozen process holds a payer's lock.
 */
export const IDLE_TRANSACTION_LIMIT = '10s';

/** The payer's lock key, from SQL expressions naming the network and the payer. */
const payerKey = (network: string, payer: string) =>
  `hashtext(current_schema() || '/' || ${network} || '/' || ${payer})`;

/** Refuses to run under an isolation that reads one snapshot for the whole statement (see the module). */
const READ_COMMITTED_ONLY = `if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'the x402 ledger claims at read committed isolation, not %',
      current_setting('transaction_isolation');
  end if;`;

/**
 * The functions' statements are planned once per connection (until something invalidates the plans, such as the
 * table's next analyze), not at every run as the ledger's own statements are (`named-statements.ts`): under load,
 * planning a claim's statements took the server more than half as long as running them, and planning the read of
 * the payers' settlements in flight three times as long as running it. A plan made once must serve the table as it grows, and one
 * made while a new ledger's table was small would read it whole (the trap `named-statements.ts` describes); with
 * sequential scans priced out, every plan takes an index, whatever the table's size when it was made. Each read of a
 * payer's settlements in flight is a subquery correlated to one payer and fenced (`offset 0`), so the server can
 * neither hash it over every payer's settlements in flight nor flatten it into a join that does: it probes an index
 * for that payer. Which index is still the planner's choice: the in-flight index, unless the statistics it plans on
 * are far from the table (they were once analyzed with almost nothing in flight, say), when it may take the state
 * index and read every payer's settlements in flight, as a plan made at every run would on the same statistics.
 * Setting `plan_cache_mode` needs PostgreSQL 12 or later, where the functions cannot be created otherwise.
 */
const PLANNED_ONCE = 'set plan_cache_mode = force_generic_plan set enable_seqscan = off';

/** A function's SQL under a name made of `prefix` and a hash of its SQL (`$name` stands for the name). */
function named(prefix: string, body: string): { name: string; sql: string } {
  const name = `${prefix}_${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
  return { name, sql: body.replaceAll('$name', name) };
}

/**
 * The claim function: takes the group's payers' locks (waiting for each when `p_wait`, else only those free now, in
 * the order of their keys), inserts the claims of the payers it holds that their modes let in (a row that hits a
 * unique constraint is left out), and then returns those payers' settlements in flight, each marked whether this call
 * inserted it; its own claims are in flight, so each comes back. A payer whose lock it did not get comes back as one
 * row, `claimed_here` null, naming only the network and payer. A payer is its (network, payer) pair, as the group's
 * claims name them.
 */
const CLAIM_FUNCTION = named(
  'x402_claim',
  `create or replace function $name(
    p_payment_txid text[], p_txid text[], p_network text[], p_payer text[], p_nonce bigint[], p_sponsor text[],
    p_sponsor_nonce bigint[], p_amount text[], p_asset text[], p_pay_to text[], p_transaction text[],
    p_error_reason text[], p_error_message text[], p_block_height integer[], p_holder text[], p_resource text[],
    p_now bigint[], p_mode text[], p_wait boolean)
  returns table (claimed_here boolean, settlement x402_settlements)
  language plpgsql volatile
  ${PLANNED_ONCE}
as $claim$
#variable_conflict use_column
declare
  pair record;
  held text[] := '{}';
  held_network text[] := '{}';
  held_payer text[] := '{}';
  locked_out x402_settlements;
  inserted text[];
begin
  ${READ_COMMITTED_ONLY}
  for pair in
    select distinct k.network, k.payer, ${payerKey('k.network', 'k.payer')} as key
    from unnest(p_network, p_payer) as k(network, payer)
    order by 3, 1, 2
  loop
    if p_wait then
      perform pg_advisory_xact_lock(${PAYER_LOCK_CLASS}, pair.key);
    elsif not pg_try_advisory_xact_lock(${PAYER_LOCK_CLASS}, pair.key) then
      locked_out.network := pair.network;
      locked_out.payer := pair.payer;
      claimed_here := null;
      settlement := locked_out;
      return next;
      continue;
    end if;
    held := held || (pair.network || '/' || pair.payer);
    held_network := held_network || pair.network;
    held_payer := held_payer || pair.payer;
  end loop;
  with k as (
    select u.*, count(*) over (partition by u.network, u.payer) as of_payer
    from unnest(p_payment_txid, p_txid, p_network, p_payer, p_nonce, p_sponsor, p_sponsor_nonce, p_amount, p_asset,
      p_pay_to, p_transaction, p_error_reason, p_error_message, p_block_height, p_holder, p_resource, p_now, p_mode)
      as u(payment_txid, txid, network, payer, nonce, sponsor, sponsor_nonce, amount, asset, pay_to, transaction,
        error_reason, error_message, block_height, holder, resource, now, mode)
  ), claims as (
    insert into x402_settlements (payment_txid, txid, network, payer, nonce, nonce_claimed, sponsor, sponsor_nonce,
      amount, asset, pay_to, transaction, state, error_reason, error_message, block_height, holder, resource,
      created_at, updated_at)
    select k.payment_txid, k.txid, k.network, k.payer, k.nonce, 1, k.sponsor, k.sponsor_nonce, k.amount, k.asset,
      k.pay_to, k.transaction, case k.mode when 'claim' then 'claimed' else 'broadcast' end, k.error_reason,
      k.error_message, k.block_height, k.holder, k.resource, k.now, k.now
    from k
    where (k.network || '/' || k.payer) = any(held)
      and (k.mode <> 'send_alone' or (k.of_payer = 1 and not exists (
        select 1 from x402_settlements s where s.network = k.network and s.payer = k.payer
          and s.${HOLDS_NONCE_SQL} and s.${IN_FLIGHT_SQL} offset 0)))
    order by k.payment_txid
    on conflict do nothing
    returning payment_txid
  )
  select coalesce(array_agg(claims.payment_txid), '{}') into inserted from claims;
  return query select (found.s).payment_txid = any(inserted), found.s
    from unnest(held_network, held_payer) as h(network, payer)
    cross join lateral (
      select s from x402_settlements s
      where s.network = h.network and s.payer = h.payer and s.${HOLDS_NONCE_SQL} and s.${IN_FLIGHT_SQL}
      offset 0
    ) as found;
end
$claim$`,
);

/** A payer's settlements in flight, read once the payer's lock is held: no claim of the payer is mid-way then. */
const IN_FLIGHT_FUNCTION = named(
  'x402_in_flight',
  `create or replace function $name(p_network text, p_payer text)
  returns setof x402_settlements
  language plpgsql volatile
  ${PLANNED_ONCE}
as $in_flight$
begin
  ${READ_COMMITTED_ONLY}
  perform pg_advisory_xact_lock(${PAYER_LOCK_CLASS}, ${payerKey('p_network', 'p_payer')});
  return query select * from x402_settlements s
    where s.network = p_network and s.payer = p_payer and s.${HOLDS_NONCE_SQL} and s.${IN_FLIGHT_SQL};
end
$in_flight$`,
);

/**
 * Sets a new ledger connection up for the payer locks (pg's `onConnect`): read committed, whatever the role's or
 * database's default, and a transaction left idle ended after {@link IDLE_TRANSACTION_LIMIT}.
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString, onConnect: forPayerLocks });
 * ```
 */
export async function forPayerLocks(client: pg.ClientBase): Promise<void> {
  await client.query(
    `set default_transaction_isolation = 'read committed'; set idle_in_transaction_session_timeout = '${IDLE_TRANSACTION_LIMIT}'`,
  );
}

/**
 * Creates the claim functions in the ledger's schema, unless they are there (then it touches nothing: a process
 * restarting beside busy ones takes no lock). Run after the settlement table's migration: the functions name its row
 * type.
 * @example
 * ```ts
 * await db.transaction().execute(async (trx) => { await migrateLedger(trx); await migratePayerClaims(trx); });
 * ```
 */
export async function migratePayerClaims(db: Kysely<LedgerDatabase>): Promise<void> {
  const { rows } = await sql<{ name: string }>`select p.proname as name from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = current_schema() and p.proname in (${CLAIM_FUNCTION.name}, ${IN_FLIGHT_FUNCTION.name})`.execute(
    db,
  );
  if (rows.length === 2) return;
  await sql.raw(CLAIM_FUNCTION.sql).execute(db);
  await sql.raw(IN_FLIGHT_FUNCTION.sql).execute(db);
}

/**
 * One statement for a group of claims: their rows back, with `claimed_here` telling the ones this call inserted.
 * @example
 * ```ts
 * const { rows } = await db.executeQuery<ClaimRow<Row>>(claimQuery([write], { wait: true }));
 * const [answer] = claimAnswers([write], rows);
 * ```
 */
export function claimQuery(
  claims: readonly ClaimWrite[],
  { wait }: { wait: boolean },
): CompiledQuery {
  const column = <K extends keyof ClaimWrite>(key: K) => claims.map((claim) => claim[key]);
  return CompiledQuery.raw(
    `select f.claimed_here, (f.settlement).* from ${CLAIM_FUNCTION.name}($1::text[], $2::text[], $3::text[],
      $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[],
      $12::text[], $13::text[], $14::integer[], $15::text[], $16::text[], $17::bigint[], $18::text[], $19) f`,
    [
      column('paymentTxid'),
      column('txid'),
      column('network'),
      column('payer'),
      column('nonce'),
      column('sponsor'),
      column('sponsorNonce'),
      column('amount'),
      column('asset'),
      column('payTo'),
      column('transaction'),
      column('errorReason'),
      column('errorMessage'),
      column('blockHeight'),
      column('holder'),
      column('resource'),
      column('now'),
      column('mode'),
      wait,
    ],
  );
}

/**
 * A row of {@link claimQuery}: a settlement in flight, and whether the call inserted it; or, `claimed_here` null, a
 * payer whose lock the call did not get, naming only its network and payer.
 */
export type ClaimRow<Row> = Row & { readonly claimed_here: boolean | null };

/** The columns a claim's answer is matched on. */
type MatchedRow = { payment_txid: string; network: string; payer: string };

/**
 * What one claim of a group got: its row when inserted, and its payer's settlements in flight, its own included; or,
 * `lockedOut`, nothing, since another claim held its payer's lock.
 */
export type ClaimAnswer<Row> = {
  readonly row: Row | undefined;
  readonly inFlight: Row[];
  readonly lockedOut: boolean;
};

/**
 * Each claim's answer from its group's rows.
 * @example
 * ```ts
 * const answers = claimAnswers(claims, rows);
 * if (answers[0]?.row) console.log('claimed, beside', answers[0].inFlight.length - 1, 'others in flight');
 * ```
 */
export function claimAnswers<Row extends MatchedRow>(
  claims: readonly ClaimWrite[],
  rows: readonly ClaimRow<Row>[],
): ClaimAnswer<Row>[] {
  const inserted = new Map<string, Row>();
  const inFlight = new Map<string, Row[]>();
  const lockedOut = new Set<string>();
  for (const { claimed_here, ...rest } of rows) {
    const row = rest as unknown as Row;
    const pair = pairOf(row.network, row.payer);
    if (claimed_here === null) {
      lockedOut.add(pair);
      continue;
    }
    if (claimed_here) inserted.set(row.payment_txid, row);
    const payers = inFlight.get(pair);
    if (payers) payers.push(row);
    else inFlight.set(pair, [row]);
  }
  return claims.map((claim) => {
    const pair = pairOf(claim.network, claim.payer);
    return {
      row: inserted.get(claim.paymentTxid),
      inFlight: inFlight.get(pair) ?? [],
      lockedOut: lockedOut.has(pair),
    };
  });
}

const pairOf = (network: string, payer: string) => `${network}\u0000${payer}`;

/**
 * The read of one payer's settlements in flight, under the payer's lock.
 * @example
 * ```ts
 * const { rows } = await db.executeQuery<Row>(inFlightQuery(network, payer));
 * ```
 */
export function inFlightQuery(network: string, payer: string): CompiledQuery {
  return CompiledQuery.raw(`select * from ${IN_FLIGHT_FUNCTION.name}($1, $2)`, [network, payer]);
}
