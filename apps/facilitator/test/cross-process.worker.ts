/**
 * One of several processes racing on one ledger: claims one payment many times, reserves sponsor nonces, and prints
 * what it won as JSON. Used by cross-process.test.ts.
 */

import { readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { settlement } from '@x402-stacks/test-kit/ledger-conformance';
import { DEFAULT_SPONSOR_LIMITS } from 'x402-stacks/facilitator';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

const [kind, target, schema, meeting, processes] = process.argv.slice(2) as [
  'postgres' | 'sqlite',
  string,
  string,
  string,
  string,
];
/** This process's own settlement seeds: its pid's block of 100, one range of it per phase, so no two processes meet. */
const seed = (offset: number) => 100_000 + process.pid * 100 + offset;
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
    opened.ledger.claim(i % 2 === 0 ? settlement(1) : settlement(seed(25 + i), { nonce: 1n })),
  ),
);
const nonces = await Promise.all(
  Array.from({ length: 25 }, async (_, i) => {
    const own = settlement(seed(i));
    const claim = await opened.ledger.claim(own);
    if (!claim.claimed) throw new Error('the claim of a fresh payment failed');
    const granted = await opened.ledger.reserveSponsorship(
      {
        paymentTxid: own.paymentTxid,
        claimedAt: claim.record.createdAt,
        network: sponsor.network,
        payer: own.payer,
        fee: 1n,
        candidates: [{ sponsor: sponsor.sponsor, confirmedNext: 0n, possibleNext: 0n }],
        capacity: 1_000n,
        limits: { ...DEFAULT_SPONSOR_LIMITS, maxInFlightPerPayer: 1_000 },
      },
      Date.now(),
    );
    if (!granted.granted) throw new Error(granted.message);
    return granted.nonce;
  }),
);
// Claims to send of one payer, each admitted while at most ten are broadcast, with plain claims of the payer in
// between: atomic across processes, exactly ten are kept in all.
const payer = 'ST3NBRSFKX28FQ2ZJ1MAKX58HKHSDGNV5N7R21XCP';
await barrier(join(meeting, 'ready'), Number(processes));
// Half are made in turns of their own, so that a claim to send may find its payer alone in its turn's statement and
// race the other processes' claims there; the rest all in one turn.
const sends: Awaited<ReturnType<typeof opened.ledger.claimToSend<'full'>>>[] = [];
const claimed: Promise<void>[] = [];
for (let i = 0; i < 20; i++) {
  const own = settlement(seed(50 + i), { payer });
  const claim =
    i % 4 === 3
      ? opened.ledger.claim(own)
      : opened.ledger.claimToSend(own, (inFlight) =>
          inFlight.filter((r) => r.state === 'broadcast').length > 10 ? 'full' : undefined,
        );
  claimed.push(claim.then((result) => void sends.push(result)));
  if (i < 10) await new Promise((resolve) => setImmediate(resolve));
}
await Promise.all(claimed);
console.log(
  JSON.stringify({
    won: claims.filter((c) => c.claimed).length,
    nonces: nonces.map(String),
    sent: sends.filter((c) => c.claimed && c.record.state === 'broadcast').length,
  }),
);
await opened.close();

/** Waits until every racing process got here, so that their claims to send overlap. */
async function barrier(prefix: string, count: number): Promise<void> {
  writeFileSync(`${prefix}-${process.pid}`, '');
  const folder = dirname(prefix);
  const name = basename(prefix);
  while (readdirSync(folder).filter((file) => file.startsWith(`${name}-`)).length < count) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
