/**
 * bench/buyer: paid requests per second from one account, one payment at a time (serialized nonces) against several
 * in flight at once (parallel nonces), through `wrapFetchWithPayment` to the buyer test stack (a devnet, the
 * facilitator service, a seller that settles through it), all over HTTP on 127.0.0.1 in this process.
 *
 * Each mode pays its own route, the payer paying its own fee: `/serialized` offers no `maxNonceAhead`, so the payer
 * sends the next payment once the previous one is in the mempool (looked up every `nonceWatchMs`: the default
 * 1,000 ms, and 50 ms); `/parallel` offers `maxNonceAhead: 25` (what our facilitator advertises when it does not
 * sponsor), so up to `maxPaymentsInFlight` (8) go out at once. `/sponsored` is the sponsored offer as our seller
 * makes it: no `maxNonceAhead`, since the facilitator sends a sponsored payment only at the payer's confirmed next
 * nonce, so a buyer's sponsored payments go out a block apart. Every mode keeps 8 requests in flight and uses a
 * fresh account, so nonces start at 0 each time.
 *
 * The devnet mines a block every `--block-ms` (default 500), so a settlement waits for its block as on a real chain
 * (with blocks far shorter than testnet's); `--block-ms 0` mines on every broadcast instead, where the one event loop
 * this all shares, not the waiting, bounds every mode.
 *
 * Usage: tsx bench/buyer/index.ts [--payments 24 --seconds 60 --block-ms 500]
 */
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import { requirement, startStack } from '../../e2e/clients/client-stack.js';
import { flag, formatRate, load, printTable } from '../lib.js';

const payments = Number(flag('payments', '24'));
const seconds = Number(flag('seconds', '60'));
const blockMs = Number(flag('block-ms', '500'));
const stack = await startStack({
  mining: blockMs > 0 ? { mode: 'interval', intervalMs: blockMs } : { mode: 'on-broadcast' },
});
try {
  stack.route('/serialized', { accepts: [requirement({ payTo: stack.payTo })] });
  stack.route('/parallel', {
    accepts: [requirement({ payTo: stack.payTo, extra: { maxNonceAhead: 25 } })],
  });
  stack.route('/sponsored', {
    accepts: [requirement({ payTo: stack.payTo, extra: { sponsor: stack.sponsor } })],
  });
  const modes = [
    {
      name: 'serialized (nonceWatchMs 1000, the default)',
      path: '/serialized',
      nonceWatchMs: 1_000,
    },
    { name: 'serialized (nonceWatchMs 50)', path: '/serialized', nonceWatchMs: 50 },
    { name: 'parallel nonces (8 in flight)', path: '/parallel', nonceWatchMs: 1_000 },
    { name: 'sponsored (a block apart)', path: '/sponsored', nonceWatchMs: 1_000 },
  ];
  const rows: (string | number)[][] = [];
  for (const mode of modes) {
    const pay = wrapFetchWithPayment(fetch, stack.buyer(), {
      apiUrl: stack.devnet.url,
      nonceWatchMs: mode.nonceWatchMs,
    });
    let failed = 0;
    const result = await load({
      concurrency: 8,
      seconds,
      total: payments,
      request: async () => {
        const response = await pay(`${stack.sellerUrl}${mode.path}`).catch(() => undefined);
        if (response?.status !== 200) failed++;
        await response?.arrayBuffer();
      },
    });
    process.stderr.write(`  ${mode.name}: ${result.perSecond.toFixed(2)}/s\n`);
    rows.push([
      mode.name,
      result.requests,
      failed,
      result.perSecond.toFixed(2),
      formatRate(result.p50Ms),
      formatRate(result.p99Ms),
    ]);
  }
  printTable(['mode', 'paid requests', 'failed', 'per second', 'p50 ms', 'p99 ms'], rows);
} finally {
  await stack.stop();
}
