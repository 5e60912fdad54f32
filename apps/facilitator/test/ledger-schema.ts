/**
 * A test file's own PostgreSQL ledger: opened in a schema of its own before the file's tests, dropped after them.
 */
import { after, before } from 'node:test';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import { sql } from 'kysely';
import { openPostgresLedger } from '../src/ledger/postgres.js';

type OpenedLedger = Awaited<ReturnType<typeof openPostgresLedger>>;

/**
 * Registers the hooks that open the ledger in a schema named after `prefix`, and drop it.
 * @returns the run's connection string, the schema, and the opened ledger, whose parts are there once the `before`
 * hook has run.
 */
export async function ledgerInOwnSchema(prefix: string): Promise<{
  connectionString: string;
  schema: string;
  opened: Pick<OpenedLedger, 'ledger' | 'channels' | 'db'>;
}> {
  const connectionString = await testPostgresUrl();
  const schema = `${prefix}_${process.pid}_${Date.now()}`;
  let current: OpenedLedger | undefined;
  before(async () => {
    current = await openPostgresLedger({ connectionString, schema });
  });
  after(async () => {
    if (!current) return;
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(current.db);
    await current.close();
  });
  const open = () => {
    if (!current) throw new Error('the ledger opens in the before hook');
    return current;
  };
  return {
    connectionString,
    schema,
    opened: {
      get ledger() {
        return open().ledger;
      },
      get channels() {
        return open().channels;
      },
      get db() {
        return open().db;
      },
    },
  };
}
