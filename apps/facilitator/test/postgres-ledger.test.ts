/**
 * The SQL ledger on the real PostgreSQL of this machine (127.0.0.1:5432, database `test`; override with
 * TEST_DATABASE_URL), in a schema of its own, through the same conformance suite as the in-memory ledger. The pool has
 * ten connections, so the concurrency cases race at the database.
 */
import { after, before } from 'node:test';
import { sql } from 'kysely';
import { ledgerConformance } from '../../../packages/x402-stacks/test/ledger-conformance.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';

const connectionString = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `x402_ledger_test_${process.pid}_${Date.now()}`;
let opened: Awaited<ReturnType<typeof openPostgresLedger>>;

before(async () => {
  opened = await openPostgresLedger({ connectionString, schema });
});

after(async () => {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(opened.db);
  await opened.close();
});

ledgerConformance('PostgreSQL ledger', async () => {
  await sql`truncate x402_settlements, x402_sponsor_nonces, x402_sponsor_released`.execute(
    opened.db,
  );
  return opened.ledger;
});
