/** A test pool's connections in one schema, set the way the services set theirs. */
import type pg from 'pg';

/**
 * A pool's `onConnect` that sets `search_path` to `schema` on each new connection. A startup option
 * (`options: '-c search_path=…'`) would lose to a test URL's own `?options=`, and the test would read and write the
 * default schema of a shared database instead.
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString, max: 1, onConnect: inSchema('x402_test') });
 * ```
 */
export function inSchema(schema: string): (client: pg.ClientBase) => Promise<void> {
  return async (client) => {
    await client.query(`set search_path to "${schema.replaceAll('"', '""')}"`);
  };
}
