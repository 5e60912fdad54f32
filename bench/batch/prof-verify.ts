/**
 * bench/batch: batch-settlement against `exact` on the same seller, facilitator and devnet, in the same run.
 * 1. Paid requests per second and p50/p99, one buyer paying one request at a time: over one channel (a voucher per
 *    request) against `exact` (a sponsored transaction per request, settled before the handler). Rounds alternate
 *    between the two and the order rotates; the table shows the median round of each and the median of the per-round
 *    ratios (target ≥ 20×).
 * 2. Voucher verify, the facilitator's own check (`facilitator.verify` in process: the payload parsed, the SIP-018 hash,
 *    public-key recovery, the SQLite ledger read), against raw libsecp256k1 recovery measured in the same run
 *    (target ≥ 0.5).
 * 3. On-chain transactions for 1,000 paid requests over a fresh channel (deposit, claim, settle; target ≤ 3), counted
 *    from the devnet's blocks, and the fees per request against `exact`'s, from the fee payers' balances.
 *
 * The pieces: the devnet (a block on each broadcast by default, the most favourable case for `exact`; `--block-ms`
 * mines on an interval instead), the facilitator service (`startFacilitatorService`, SQLite ledger, status polls every
 * 20 ms, claims only when the bench runs its keeper) and an Express seller with `batch: true`, all over HTTP on
 * 127.0.0.1 in this process.
 *
 * Usage: npm run bench:batch [-- --seconds 2 --rounds 3 --block-ms 0]
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevnet } from '@x402-stacks/devnet';
import { loadConfig, startFacilitatorService } from '@x402-stacks/facilitator';
import express from 'express';
import {
  BATCH_SETTLEMENT,
  createMemoryChannelStore,
  isVoucherSignedBy,
  signVoucher,
} from 'x402-stacks/batch';
import { paymentMiddleware } from 'x402-stacks/express';
import { getPaymentReceipt, wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';
import {
  flag,
  formatRate,
  type LoadResult,
  load,
  measure,
  peakRssMiB,
  printTable,
} from '/work/main/bench/lib.js';

const seconds = Number(flag('seconds', '2'));
const rounds = Number(flag('rounds', '3'));
const blockMs = Number(flag('block-ms', '0'));
if (!(seconds > 0) || !(rounds >= 1) || !(blockMs >= 0)) {
  throw new Error('--seconds > 0, --rounds ≥ 1, --block-ms ≥ 0');
}
const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const PRICE = 100n;
/** Requests in the transaction-count phase. */
const COUNTED = 1_000;
const TARGETS = { rate: 20, verify: 0.5, transactions: 3 };

// Genesis accounts by role.
const devnet = await startDevnet({
  port: 0,
  accounts: 6,
  mining: blockMs > 0 ? { mode: 'interval', intervalMs: blockMs } : { mode: 'on-broadcast' },
});
const role = (index: number) => devnet.accounts[index]!;
const seller = role(0).address;
const [authorizer, sponsor, exactPayer, ratePayer, countedPayer] = [1, 2, 3, 4, 5].map(role);
const feePayers = [sponsor!.address, authorizer!.address];

const dataDir = mkdtempSync(join(tmpdir(), 'bench-batch-'));
const service = await startFacilitatorService(
  loadConfig({
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${join(dataDir, 'facilitator.db')}`,
    SPONSOR_PRIVATE_KEYS: sponsor!.privateKey,
    BATCH_ESCROW_TESTNET: ESCROW,
    BATCH_AUTHORIZER_KEY: authorizer!.privateKey,
    // Due at once, but only when the bench runs the keeper: no claim lands in the middle of a measurement.
    BATCH_CLAIM_MAX_AGE_MS: '0',
    KEEPER_INTERVAL_MS: '600000',
    POLL_INTERVAL_MS: '20',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'silent',
  }),
);

const app = express();
app.get(
  '/quote',
  paymentMiddleware({
    amount: PRICE.toString(),
    payTo: seller,
    network: 'testnet',
    facilitatorUrl: service.url,
    sponsored: true,
    // A deposit large enough for every round; the counted phase's buyer cuts it to 1,000 requests with its cap.
    batch: { minDeposit: (1_000_000n * PRICE).toString() },
  }),
  (_req, res) => {
    res.json({ symbol: 'STX', price: 0.42 });
  },
);
const sellerServer = app.listen(0, '127.0.0.1');
await once(sellerServer, 'listening');
const url = `http://127.0.0.1:${(sellerServer.address() as AddressInfo).port}/quote`;

const stx = (address: string) => devnet.chain.state.stx(address);
const feesPaid = async (work: () => Promise<unknown>) => {
  const before = feePayers.map(stx);
  await work();
  return feePayers.reduce((sum, address, index) => sum + before[index]! - stx(address), 0n);
};
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A buyer that must be paid through `scheme`, failing the bench otherwise. */
function buyer(account: StacksAccount, scheme: string, depositCap?: bigint) {
  const store = createMemoryChannelStore();
  const pay = wrapFetchWithPayment(fetch, account, {
    apiUrl: devnet.url,
    ...(depositCap === undefined
      ? {}
      : {
          batch: {
            depositCap: { STX: depositCap },
            escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
            store,
          },
        }),
  });
  return {
    store,
    async request() {
      const response = await pay(url);
      const paidWith = getPaymentReceipt(response)?.requirements.scheme;
      await response.arrayBuffer();
      if (response.status !== 200 || paidWith !== scheme) {
        throw new Error(`expected 200 over ${scheme}, got ${response.status} over ${paidWith}`);
      }
    },
  };
}

try {
  const batch = buyer(ratePayer!.account, BATCH_SETTLEMENT, 1_000_000n * PRICE);
  for (let i = 0; i < 20; i++) await batch.request();
  // 2. Voucher verify in process against raw recovery. The next voucher of the rate channel, verified over and over:
  // verify charges nothing, and nothing on the way is cached.
  const [record] = await batch.store.list();
  const offer = decodePaymentRequiredHeader(
    (await fetch(url)).headers.get('payment-required')!,
  ).accepts.find((entry) => entry.scheme === BATCH_SETTLEMENT)!;
  const voucherPayment = {
    x402Version: 2,
    accepted: offer,
    payload: {
      type: 'voucher',
      channelConfig: record!.config,
      voucher: {
        channelId: record!.channelId,
        maxClaimableAmount: (record!.charged + PRICE).toString(),
        signature: signVoucher(
          ratePayer!.privateKey,
          STACKS_NETWORKS.testnet,
          ESCROW,
          record!.channelId,
          record!.charged + PRICE,
        ),
      },
    },
  };
  const check = await service.facilitator.verify(voucherPayment, offer);
  if (!check.isValid) throw new Error(`the voucher was refused: ${check.invalidReason}`);
  const verify = await measure(
    'facilitator.verify of a voucher',
    async () => {
      const answer = await service.facilitator.verify(voucherPayment, offer);
      if (!answer.isValid) throw new Error(answer.invalidReason);
    },
    seconds,
  );

  console.log(verify.opsPerSecond);
} finally {
  await new Promise<void>((resolve) => sellerServer.close(() => resolve()));
  await service.stop();
  await devnet.stop();
}
