/**
 * One of several processes racing on one ledger: claims one payment many times, reserves sponsor nonces, and prints
 * what it won as JSON. Used by cross-process.test.ts.
 */
import { settlement } from '../../../packages/x402-stacks/test/ledger-conformance.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const [kind, target, schema] = process.argv.slice(2) as ['postgres' | 'sqlite', string, string];
const opened =
  kind === 'postgres'
    ? await openPostgresLedger({ connectionString: target, schema })
    : await openSqliteLedger({ path: target });
const sponsor = {
  network: 'stacks:2147483648' as const,
  sponsor: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
};
const claims = await Promise.all(
  Array.from({ length: 25 }, (_, i) =>
    // The same payment, and a different transaction on the same nonce, from every process.
    opened.ledger.claim(
      i % 2 === 0 ? settlement(1) : settlement(1000 + process.pid * 100 + i, { nonce: 1n }),
    ),
  ),
);
const nonces = await Promise.all(
  Array.from({ length: 25 }, () => opened.ledger.reserveSponsorNonce(sponsor, 0n)),
);
console.log(
  JSON.stringify({ won: claims.filter((c) => c.claimed).length, nonces: nonces.map(String) }),
);
await opened.close();
