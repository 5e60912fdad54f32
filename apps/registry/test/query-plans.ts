/**
 * The query plans of what a store call runs: the call goes through a second store whose Kysely records each
 * compiled statement, and every statement is then explained with its own parameters (EXPLAIN QUERY PLAN on
 * SQLite, EXPLAIN on PostgreSQL). Asserting on the statements the store really runs, rather than on hand-written
 * copies, keeps the test honest when the query builder changes.
 */

import { inSchema } from '@x402-stacks/test-kit';
import Database from 'better-sqlite3';
import { type CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { type RegistryDatabase, RegistryStore } from '../src/index.js';

/** One statement and its plan, one line per plan node. */
export type ExplainedStatement = { readonly sql: string; readonly plan: readonly string[] };

/** A store that records its statements, and how to explain what a call ran. */
export type PlanRecorder = {
  readonly store: RegistryStore;
  explain(call: (store: RegistryStore) => Promise<unknown>): Promise<ExplainedStatement[]>;
  close(): Promise<void>;
};

/**
 * Opens a recording store over an existing database.
 *
 * `postgresIndexesOnly` explains with sequential scans priced out (`enable_seqscan = off`): a test database holds a
 * few thousand rows, and at that size reading the whole table is rightly the cheapest plan, so the question asked
 * is whether an index can answer the statement at all. A sequential scan still shows when none can.
 */
export function planRecorder(
  target: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string },
  options: { postgresIndexesOnly?: boolean } = {},
): PlanRecorder {
  const recorded: CompiledQuery[] = [];
  const log = (event: { level: string; query: CompiledQuery }) => {
    if (event.level === 'query') recorded.push(event.query);
  };
  const db =
    target.kind === 'sqlite'
      ? new Kysely<RegistryDatabase>({
          dialect: new SqliteDialect({ database: new Database(target.path) }),
          log,
        })
      : new Kysely<RegistryDatabase>({
          dialect: new PostgresDialect({
            pool: new pg.Pool({
              connectionString: target.url,
              max: 1,
              onConnect: inSchema(target.schema),
            }),
          }),
          log,
        });
  const store = new RegistryStore(db, target.kind);
  return {
    store,
    async explain(call) {
      recorded.length = 0;
      await call(store);
      const statements = [...recorded];
      const explained: ExplainedStatement[] = [];
      for (const statement of statements) {
        const prefix = target.kind === 'sqlite' ? 'explain query plan ' : 'explain ';
        const rows = await db.connection().execute(async (connection) => {
          if (target.kind === 'postgres' && options.postgresIndexesOnly) {
            await sql`set enable_seqscan = off`.execute(connection);
          }
          try {
            const result = await connection.executeQuery<Record<string, string>>({
              ...statement,
              sql: prefix + statement.sql,
            });
            return result.rows;
          } finally {
            if (target.kind === 'postgres') await sql`reset enable_seqscan`.execute(connection);
          }
        });
        explained.push({
          sql: statement.sql,
          plan: rows.map((row) => String(row.detail ?? row['QUERY PLAN'])),
        });
      }
      return explained;
    },
    close: () => db.destroy(),
  };
}

/**
 * The plan lines that read the listings table from end to end: a PostgreSQL `Seq Scan`, a SQLite `SCAN` of the
 * table itself, or a SQLite `SCAN … USING INDEX` in a statement without a LIMIT (a count, say), which reads the
 * whole index. With a LIMIT, such a scan walks a sort order and stops after a page, which is what the order indexes
 * are for.
 */
export function fullListingScans(statement: ExplainedStatement): string[] {
  const stopsEarly = /\blimit\b/i.test(statement.sql);
  return statement.plan.filter(
    (line) =>
      /Seq Scan on registry_listings\b/.test(line) ||
      /\bSCAN registry_listings\b(?! USING)/.test(line) ||
      (!stopsEarly && /\bSCAN registry_listings USING\b/.test(line)),
  );
}
