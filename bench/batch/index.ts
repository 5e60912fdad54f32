/**
 * bench/batch: batch-settlement against `exact` on the same seller, facilitator and devnet, in the same run.
 * 1. Paid requests per second and p50/p99, one buyer paying one request at a time: over one channel (a voucher per
 *    request) against `exact` (a sponsored transaction per request, settled before the handler). Rounds alternate
 *    between the two and the order rotates; the table shows the median round of each and the median of the per-round
 *    ratios. Measured at each block time of `--block-ms` in turn, on the same devnet (`setMining`): by default a block
 *    on each broadcast (no Stacks network is that fast: `exact`'s best case) and a block every 5 s (the fast end of
 *    Nakamoto's design target; mainnet has averaged slower). The target (≥ 20×) is judged at the 5 s blocks, the
 *    other row shown beside it. An `exact` round lasts at least two blocks.
 * 2. Voucher verify, the facilitator's own check (`facilitator.verify`: the payload parsed, the SIP-018 hash, public-key
 *    recovery, the SQLite ledger read), against raw libsecp256k1 recovery, in a facilitator process of its own on the
 *    same ledger (`verify-process.ts`), in alternating short rounds (at least 5, each a quarter of `--seconds`); the
 *    ratio is the median of the per-round ratios (target ≥ 0.5).
 * 3. On-chain transactions for 1,000 paid requests over a fresh channel (deposit, claim, settle; target ≤ 3), counted
 *    from the devnet's blocks, and the fees per request against `exact`'s, from the fee payers' balances.
 *
 * The pieces: the devnet (phases 2 and 3 run at the first block time of `--block-ms`), the facilitator service (`startFacilitatorService`, SQLite ledger, status polls every
 * 20 ms, claims only when the bench runs its keeper) and an Express seller with `batch: true`, all over HTTP on
 * 127.0.0.1 in this process (but for the verify measurement's process).
 *
 * `--profile-dir <dir>` runs the verify process under `node --cpu-prof`, writing its profile there at exit: where a
 * voucher verify's time goes (its rounds alternate with recovery's and the signature check's, which show apart).
 *
 * Usage: npm run bench:batch [-- --seconds 2 --rounds 3 --block-ms 0,5000 --profile-dir <dir>]
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import { loadConfig, startFacilitatorService } from '@x402-stacks/facilitator';
import express from 'express';
import { BATCH_SETTLEMENT, createMemoryChannelStore, signVoucher } from 'x402-stacks/batch';
import { paymentMiddleware } from 'x402-stacks/express';
import { getPaymentReceipt, wrapFetchWithPayment } from 'x402-stacks/fetch';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';
import { flag, formatRate, type LoadResult, load, peakRssMiB, printTable } from '../lib.js';

const seconds = Number(flag('seconds', '2'));
const rounds = Number(flag('rounds', '3'));
/** Block times to measure the rates at, in ms; 0 is a block on each broadcast. */
const blockTimes = flag('block-ms', '0,5000').split(',').map(Number);
const profileDir = flag('profile-dir', '');
if (
  !(seconds > 0) ||
  !(rounds >= 1) ||
  !blockTimes.every((ms) => ms === 0 || ms >= 10) ||
  new Set(blockTimes).size !== blockTimes.length
) {
  throw new Error('--seconds > 0, --rounds ≥ 1, --block-ms distinct values, each 0 or ≥ 10');
}
const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const PRICE = 100n;
/** Requests in the transaction-count phase. */
const COUNTED = 1_000;
const TARGETS = { rate: 20, verify: 0.5, transactions: 3 };
/** The block time the rate target is judged at. */
const TARGET_BLOCK_MS = 5_000;
const miningAt = (ms: number) =>
  ms > 0 ? ({ mode: 'interval', intervalMs: ms } as const) : ({ mode: 'on-broadcast' } as const);
const describeBlocks = (ms: number) =>
  ms > 0 ? `a block every ${formatRate(ms / 1000)} s` : 'a block on each broadcast';

// Genesis accounts by role.
const devnet = await startDevnet({
  port: 0,
  accounts: 6,
  mining: miningAt(blockTimes[0]!),
});
const role = (index: number) => devnet.accounts[index]!;
const seller = role(0).address;
const [authorizer, sponsor, exactPayer, ratePayer, countedPayer] = [1, 2, 3, 4, 5].map(role);
const feePayers = [sponsor!.address, authorizer!.address];

const dataDir = mkdtempSync(join(tmpdir(), 'bench-batch-'));
const facilitatorConfig: Record<string, string> = {
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
};
const service = await startFacilitatorService(loadConfig(facilitatorConfig));

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
/** The middle value; with an even count, the mean of the two middle ones. */
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
};

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

type Buyer = ReturnType<typeof buyer>;
/** The rate rounds at one block time. */
type RatesAt = {
  readonly blockMs: number;
  readonly results: Record<'exact' | 'batch', LoadResult[]>;
  /** The median of the per-round ratios, batch ÷ exact. */
  readonly ratio: number;
  readonly exactFees: bigint;
};

/** Alternating rounds of both schemes at the devnet's current block time, `blockMs`. */
async function ratesAt(blockMs: number, exact: Buyer, batch: Buyer): Promise<RatesAt> {
  // Warm-up. The first, long enough that the first round is not slower than the rest: the JIT settles, and the
  // facilitator's SQLite WAL reaches its checkpoint size (a WAL still growing makes every sync also journal the
  // file's new size). Later ones only bring `exact` in step with the new block time.
  const first = blockMs === blockTimes[0];
  await load({
    concurrency: 1,
    seconds: Math.max(seconds, ((first ? 3 : 1) * blockMs) / 1000),
    request: () => exact.request(),
  });
  if (first)
    await load({ concurrency: 1, seconds: Math.max(seconds, 3), request: () => batch.request() });
  const results: Record<'exact' | 'batch', LoadResult[]> = { exact: [], batch: [] };
  let exactFees = 0n;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['exact', 'batch'] as const) : (['batch', 'exact'] as const);
    for (const scheme of order) {
      const pick = scheme === 'exact' ? exact : batch;
      // An exact request waits for a block: a round of two blocks at least, so it completes more than one.
      const length = scheme === 'exact' ? Math.max(seconds, (2 * blockMs) / 1000) : seconds;
      let result: LoadResult | undefined;
      const fees = await feesPaid(async () => {
        result = await load({ concurrency: 1, seconds: length, request: () => pick.request() });
      });
      if (scheme === 'exact') exactFees += fees;
      results[scheme].push(result!);
      process.stderr.write(`  round ${round + 1} ${scheme}: ${result!.perSecond.toFixed(1)}/s\n`);
    }
  }
  const ratio = median(
    results.batch.map((r, round) => r.perSecond / results.exact[round]!.perSecond),
  );
  return { blockMs, results, ratio, exactFees };
}

try {
  // 1. Rates, alternating rounds, at each block time. The channel's deposit is made in the first warm-up, so rounds
  // are vouchers only.
  const exact = buyer(exactPayer!.account, 'exact');
  const batch = buyer(ratePayer!.account, BATCH_SETTLEMENT, 1_000_000n * PRICE);
  let exactFees = 0n;
  let exactRequests = 0;
  const rates: RatesAt[] = [];
  for (const blockMs of blockTimes) {
    devnet.setMining(miningAt(blockMs));
    process.stderr.write(`${describeBlocks(blockMs)}:\n`);
    const measured = await ratesAt(blockMs, exact, batch);
    exactFees += measured.exactFees;
    exactRequests += measured.results.exact.reduce((sum, r) => sum + r.requests, 0);
    rates.push(measured);
  }
  devnet.setMining(miningAt(blockTimes[0]!));

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
  const checkRounds = await verifyInOwnProcess(voucherPayment, offer);
  const perRoundRatio = (of: number[]) =>
    median(of.map((rate, round) => rate / checkRounds.recover[round]!));
  const verifyRatio = perRoundRatio(checkRounds.verify);
  const signatureRatio = perRoundRatio(checkRounds.signature);

  // The rate channel's charges are claimed now, so the counted phase's claim is its own.
  await service.facilitator.keeper.runOnce();

  // 3. 1,000 paid requests over a fresh channel, then the claim and the sweep; every transaction since is theirs.
  const counted = buyer(countedPayer!.account, BATCH_SETTLEMENT, BigInt(COUNTED) * PRICE);
  const startHeight = devnet.chain.height;
  const sellerBefore = stx(seller);
  const batchFees = await feesPaid(async () => {
    for (let i = 0; i < COUNTED; i++) await counted.request();
    await service.facilitator.keeper.runOnce();
  });
  const txids: string[] = [];
  for (let height = startHeight + 1; height <= devnet.chain.height; height++)
    txids.push(...(devnet.chain.block(height)?.txids ?? []));
  if (devnet.chain.mempool.length > 0) throw new Error('transactions still wait in the mempool');
  if (stx(seller) - sellerBefore !== BigInt(COUNTED) * PRICE) {
    throw new Error(`the seller got ${stx(seller) - sellerBefore}, not ${BigInt(COUNTED) * PRICE}`);
  }

  const row = (name: string, blocks: string, r: LoadResult) => [
    name,
    blocks,
    r.perSecond.toFixed(1),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
  ];
  const pick = (results: LoadResult[]) =>
    // The median round; with an even count, the lower of the middle two.
    [...results].sort((a, b) => a.perSecond - b.perSecond)[Math.floor((rounds - 1) / 2)]!;
  console.log(
    `\nbench/batch (${rounds} rounds a scheme at each block time, rotating, ${seconds} s each or two blocks for exact; one buyer, one request at a time; facilitator service on SQLite; one process)\n`,
  );
  printTable(
    ['paid requests (median round)', 'devnet', 'per second', 'p50 ms', 'p99 ms'],
    rates.flatMap(({ blockMs, results }) => [
      row('batch-settlement, voucher per request', describeBlocks(blockMs), pick(results.batch)),
      row(
        'exact, transaction per request (baseline)',
        describeBlocks(blockMs),
        pick(results.exact),
      ),
    ]),
  );
  console.log('');
  const perRequest = (fees: bigint, requests: number) => (Number(fees) / requests).toFixed(2);
  printTable(
    ['figure', 'batch-settlement', 'baseline (same run)', 'ratio', 'target'],
    [
      ...rates.map(({ blockMs, results, ratio }) => [
        `paid requests/s, ${describeBlocks(blockMs)} (median of per-round ratios)`,
        formatRate(median(results.batch.map((r) => r.perSecond))),
        `${formatRate(median(results.exact.map((r) => r.perSecond)))} (exact)`,
        `${ratio.toFixed(1)}×`,
        blockMs === TARGET_BLOCK_MS
          ? `≥ ${TARGETS.rate}× ${ratio >= TARGETS.rate ? 'met' : 'NOT met'}`
          : '(shown)',
      ]),
      [
        'voucher verify/s (a facilitator process of its own)',
        formatRate(median(checkRounds.verify)),
        `${formatRate(median(checkRounds.recover))} (libsecp256k1 recovery)`,
        verifyRatio.toFixed(2),
        `≥ ${TARGETS.verify} ${verifyRatio >= TARGETS.verify ? 'met' : 'NOT met'}`,
      ],
      [
        '  of which the signature check alone/s',
        formatRate(median(checkRounds.signature)),
        `${formatRate(median(checkRounds.recover))} (libsecp256k1 recovery)`,
        signatureRatio.toFixed(2),
        '',
      ],
      [
        `on-chain transactions per ${formatRate(COUNTED)} paid requests`,
        `${txids.length} (${(await Promise.all(txids.map(escrowFunction))).join(', ')})`,
        `${formatRate(COUNTED)} (exact: one each)`,
        '',
        `≤ ${TARGETS.transactions} ${txids.length <= TARGETS.transactions ? 'met' : 'NOT met'}`,
      ],
      [
        'fees per paid request, µSTX',
        perRequest(batchFees, COUNTED),
        `${perRequest(exactFees, exactRequests)} (exact, ${exactRequests} requests)`,
        `${(Number(exactFees) / exactRequests / (Number(batchFees) / COUNTED)).toFixed(0)}× less`,
        '',
      ],
    ],
  );
  console.log(
    blockTimes.includes(TARGET_BLOCK_MS)
      ? `\nThe ${TARGETS.rate}× target is judged at ${describeBlocks(TARGET_BLOCK_MS)}: there one buyer paying one request at a time makes about one exact payment a block, so any batch rate above ${TARGETS.rate / (TARGET_BLOCK_MS / 1000)}/s meets it; a block on each broadcast is exact at its fastest, which no real chain gives.`
      : `\nThe ${TARGETS.rate}× target is judged at ${describeBlocks(TARGET_BLOCK_MS)} only: add ${TARGET_BLOCK_MS} to --block-ms to judge it.`,
  );
  console.log(
    `\npeak RSS ${peakRssMiB().toFixed(0)} MiB (devnet, facilitator, seller and buyers in this process)`,
  );
} finally {
  await new Promise<void>((resolve) => sellerServer.close(() => resolve()));
  await service.stop();
  await devnet.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

/** `deposit`, `claim`, `settle`: the escrow function a transaction called. */
async function escrowFunction(txid: string): Promise<string> {
  const found = (await (await fetch(`${devnet.url}/extended/v1/tx/0x${txid}`)).json()) as {
    contract_call?: { function_name?: string };
  };
  return found.contract_call?.function_name ?? 'other';
}

/**
 * Voucher verify against raw recovery in a facilitator process of its own (`verify-process.ts`, a second service on
 * this bench's ledger), in alternating short rounds: at least 5, each a quarter of `--seconds`.
 */
async function verifyInOwnProcess(
  payment: unknown,
  requirements: unknown,
): Promise<Record<'verify' | 'recover' | 'signature', number[]>> {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      '--import',
      'tsx',
      fileURLToPath(new URL('./verify-process.ts', import.meta.url)),
    ],
    {
      env: {
        ...process.env,
        BENCH_VERIFY_INPUT: JSON.stringify({
          config: facilitatorConfig,
          payment,
          requirements,
          escrow: ESCROW,
          secondsPerRound: seconds / 4,
          rounds: Math.max(rounds, 5),
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the verify process exited with ${code}`);
  return JSON.parse(output.trim().split('\n').at(-1)!);
}
