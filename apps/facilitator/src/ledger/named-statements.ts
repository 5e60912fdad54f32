/**
 * PostgreSQL prepared statements for the ledger's fixed queries. Sent unnamed (what Kysely does), every statement is
 * parsed and planned again by the server on each run; named, each connection parses it once, which saves the round
 * trip's Parse work on the server and its bytes on the wire. The ledger's SQL is a fixed set of shapes with bound
 * values (`prepared.ts`), so the names are few; a statement past the cap is sent unnamed, as before.
 *
 * Each run is still planned for its values and for the table as it is then (`plan_cache_mode = force_custom_plan`,
 * set by {@link planEveryRun} as each connection opens). Left to itself, from a named statement's sixth run the
 * server takes a generic plan whenever its estimated cost is no worse than the custom plans' so far, and keeps it
 * until something invalidates it, such as the table's next analyze. A new ledger under load runs its first statements
 * on an empty table, whose cheapest plan is a sequential scan, and autovacuum comes only after a minute or more: until
 * then each status round read the whole table, several times over. Planning every run costs the server about 0.1 ms
 * more per statement run alone (pgbench, on an analyzed table of 50,000 settlements), and under load a statement
 * serves a whole turn's settlements.
 *
 * The constants that decide whether a partial index applies (`nonce_claimed = 1`) are written into the SQL, not bound
 * (see sql-ledger.ts): a generic plan built for a bound value could not use the index.
 * @module
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Sets a new connection of the ledger's pool to plan each run (pg's `onConnect`: done before the connection takes its
 * first query). Sent as a statement rather than a startup option, so a pooler in session mode that refuses unknown
 * startup parameters lets it through, and `PGOPTIONS` or a URL's own `options` still apply (except to this one
 * setting, which it overrides, as it overrides `ALTER ROLE … SET`). It is a session value: a `RESET ALL` or `DISCARD
 * ALL` on the connection would undo it. A server older than PostgreSQL 12 has no such setting; the ledger needs 12 or
 * later anyway, for its claim functions (`payer-claims.ts`), whose statements keep a plan mode of their own.
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString, onConnect: planEveryRun });
 * ```
 */
export async function planEveryRun(client: pg.ClientBase): Promise<void> {
  try {
    await client.query('set plan_cache_mode = force_custom_plan');
  } catch (error) {
    // 42704: unrecognized configuration parameter.
    if ((error as { code?: string }).code !== '42704') throw error;
  }
}

/** Far more than the ledger's shapes; a caller building SQL per value would stop being named here. */
const MAX_NAMES = 256;

/**
 * Makes every connection of the pool run the ledger's DML as named prepared statements.
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString });
 * nameStatements(pool);
 * ```
 */
export function nameStatements(pool: pg.Pool): void {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (
      name === undefined &&
      names.size < MAX_NAMES &&
      /^\s*(select|insert|update|delete|with)\b/i.test(text)
    ) {
      name = `x402_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      // (text, values) as Kysely calls it, or (text, values, callback) as pool.query does.
      const [text, values, ...callback] = args;
      const name = typeof text === 'string' && Array.isArray(values) ? nameOf(text) : undefined;
      if (name === undefined || args.length > 3) return query(...args);
      return query({ text, values, name }, ...callback);
    };
  });
}
