/**
 * Claims payments on a SQLite ledger, many at a time, and prints each txid the moment its claim returns. Killed with
 * SIGKILL by sqlite-group-commit.test.ts: every txid printed must be in the file afterwards.
 */
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const [path, offset] = process.argv.slice(2) as [string, string];
const { ledger } = await openSqliteLedger({ path });
let seed = Number(offset);
for (;;) {
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      const payment = settlement(seed++);
      const claim = await ledger.claim(payment);
      if (claim.claimed) process.stdout.write(`${payment.paymentTxid}\n`);
    }),
  );
}
