/**
 * The ledger's PostgreSQL functions, for statements the server should plan once per connection rather than at every
 * run. The ledger's statements are planned at every run (`named-statements.ts`), since a plan kept from a new ledger's
 * first runs could read the whole table as it grows; under load, planning the hottest of them cost the server from a
 * third of the time of running them to more than all of it. A function's own settings apply to the statements inside it alone: there each is planned
 * once per connection (until something invalidates the plan, such as the table's next analyze), with sequential scans
 * priced out so that a plan made while the table was small still probes an index once it has grown. Only statements
 * whose every read is an index probe belong here, written so that no plan can hash or flatten a probe into a read of
 * the whole table or index (a fenced, correlated subquery; a join on an `or` of keys).
 *
 * Each function is created at open under a name that carries a hash of its SQL: a release that changes one creates its
 * successor beside it, and processes of the release before keep theirs during a rolling upgrade. Setting
 * `plan_cache_mode` needs PostgreSQL 12 or later, where such a function cannot be created otherwise.
 * @module
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/** A function's settings: its statements planned once, sequential scans priced out. */
export const PLANNED_ONCE = 'set plan_cache_mode = force_generic_plan set enable_seqscan = off';

/** A function of the ledger's: its name, and the SQL that creates it. */
export type LedgerFunction = { readonly name: string; readonly sql: string };

/**
 * A function's SQL under a name made of `prefix` and a hash of its SQL (`$name` stands for the name in `body`).
 * @example
 * ```ts
 * const ping = ledgerFunction('x402_ping', `create or replace function $name() returns int language sql as 'select 1'`);
 * ```
 */
export function ledgerFunction(prefix: string, body: string): LedgerFunction {
  const name = `${prefix}_${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
  return { name, sql: body.replaceAll('$name', name) };
}

/**
 * Creates those of `functions` that the current schema lacks; with all of them there, it touches nothing (a process
 * restarting beside busy ones takes no lock). Run after the tables' migration: the functions name their row types.
 * @example
 * ```ts
 * await createLedgerFunctions(trx, [ping]);
 * ```
 */
export async function createLedgerFunctions<DB>(
  db: Kysely<DB>,
  functions: readonly LedgerFunction[],
): Promise<void> {
  const { rows } = await sql<{ name: string }>`select p.proname as name from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = current_schema() and p.proname = any(${functions.map((f) => f.name)})`.execute(
    db,
  );
  const present = new Set(rows.map((row) => row.name));
  for (const missing of functions.filter((f) => !present.has(f.name)))
    await sql.raw(missing.sql).execute(db);
}
