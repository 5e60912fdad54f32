/**
 * One of two processes charging one channel: waits until every process is ready (a file each in a shared folder), then
 * fires 25 charges at once, all from the same expected total, and prints the totals it won as JSON. Used by
 * channel-cross-process.test.ts.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { channelOf, signatureOf } from '@x402-stacks/test-kit/channel-ledger-conformance';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const [kind, target, schema, barrier, processes, index, expected] = process.argv.slice(2) as [
  'postgres' | 'sqlite',
  string,
  string,
  string,
  string,
  string,
  string,
];
const opened =
  kind === 'postgres'
    ? await openPostgresLedger({ connectionString: target, schema })
    : await openSqliteLedger({ path: target });
writeFileSync(join(barrier, `ready-${index}`), '');
while (readdirSync(barrier).length < Number(processes)) {
  await new Promise((resolve) => setTimeout(resolve, 2));
}
const expectedCharged = BigInt(expected);
const results = await Promise.all(
  Array.from({ length: 25 }, (_, i) => {
    // Distinct per process and per call, so the stored total names its winner.
    const charged = expectedCharged + BigInt(Number(index) * 100 + i + 1);
    return opened.channels.chargeChannel(
      channelOf(1).channelId,
      {
        expectedCharged,
        charged,
        signedMax: expectedCharged + 1_000n,
        signature: signatureOf(charged),
      },
      Date.now(),
    );
  }),
);
console.log(
  JSON.stringify({
    won: results.filter((r) => r !== undefined).map((r) => String(r?.charged)),
  }),
);
await opened.close();
