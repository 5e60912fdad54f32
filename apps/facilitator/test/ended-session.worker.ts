/**
 * A process whose ledger connection the server ends mid-transaction, while the ledger holds it between statements:
 * it prints what its calls got, and must live on to print it. Used by postgres-payer-claims.test.ts.
 */
import { endServerConnection } from '@x402-stacks/test-kit';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { sql } from 'kysely';
import { claimQuery } from '../src/ledger/payer-claims.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { writeOf } from './claim-writes.js';

const [connectionString, schema] = process.argv.slice(2) as [string, string];
const payer = 'ST9ENDEDSESSIONPAYER';
const held = settlement(9_801, { payer });
const write = writeOf(held, 'send');
const opened = await openPostgresLedger({ connectionString, schema });
const ended = await opened.db
  .connection()
  .execute(async (connection) => {
    await sql`begin`.execute(connection);
    await connection.executeQuery(claimQuery([write], { wait: true }));
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(connection);
    // As the server does to a transaction idle past its limit: the session ends while the ledger holds it.
    await endServerConnection(connectionString, rows[0]!.pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sql`commit`.execute(connection);
    return 'committed';
  })
  .catch(() => 'failed');
const rolledBack = (await opened.ledger.get(held.paymentTxid)) === undefined;
const next = await opened.ledger.claimToSend(settlement(9_802, { payer }), () => undefined);
console.log(
  JSON.stringify({ ended, rolledBack, next: next.claimed ? next.record.state : 'refused' }),
);
await opened.close();
