/**
 * One run: a fresh devnet mining on an interval, two facilitator processes on a fresh PostgreSQL schema, honest buyers
 * for the load phase, optionally attackers and faults; then the faults and attackers stop, the processes are all up
 * again, the buyers finish their last request, the chain mines at least 3 blocks and the keepers get time to finish
 * what is in flight (bounded); then the audit.
 */
import { randomBytes } from 'node:crypto';
import { startDevnet } from '@x402-stacks/devnet';
import { peakRssMiB } from '../lib.js';
import { runDrain } from './attack-drain.js';
import { runEvict } from './attack-evict.js';
import { runFlood } from './attack-flood.js';
import { type AttackTally, describeAnswers } from './attack-tally.js';
import { type Audit, audit, pendingNow } from './audit.js';
import { startCluster } from './facilitators.js';
import { type FaultCounts, runFaults } from './faults.js';
import { type HonestRequest, runHonestBuyer } from './honest-buyer.js';
import { chaosHttp } from './http.js';
import { dropSchema, readLedger } from './ledger-view.js';
import type { ChaosOptions } from './options.js';
import { seededRandom } from './random.js';
import type { RunContext } from './run-context.js';
import { sleep, stopSignal } from './stop-signal.js';

/** The service's settings for every run; the README explains each choice. */
export const SERVICE_ENV = {
  SETTLE_TIMEOUT_MS: '10000',
  CLAIM_LEASE_MS: '10000',
  KEEPER_INTERVAL_MS: '1000',
  SPONSOR_GAP_FILL_DELAY_MS: '2000',
  RATE_LIMIT_PER_MINUTE: '0',
  // Errors only: an unexpected failure (a 500) is printed by the bench with its cause.
  LOG_LEVEL: 'error',
} as const;

const PROCESSES = 2;
/** Buyers still finishing their last request get at most this long after the load phase. */
const DRAIN_BUYERS_MS = 60_000;

export type RunResult = {
  readonly label: string;
  readonly audit: Audit;
  /** Pending (ledger unfinished or in the mempool) when 3 blocks had been mined after the load; undefined when the
   * chain did not mine 3 blocks within the settle bound. */
  readonly pendingAtThreeBlocks: number | undefined;
  readonly settleSeconds: number;
  readonly attacks: readonly AttackTally[];
  readonly evicted: number;
  readonly faults: FaultCounts;
  readonly rssMiB: { readonly bench: number; readonly processes: readonly number[] };
  readonly ledgerStates: Record<string, number>;
  readonly requests: readonly HonestRequest[];
};

export async function runScenario(
  options: ChaosOptions,
  label: string,
  chaos: boolean,
  seed: number,
): Promise<RunResult> {
  const payerCount = options.stxPayers + options.sbtcPayers;
  const devnet = await startDevnet({
    port: 0,
    accounts: 2 + options.keys + payerCount,
    mining: { mode: 'interval', intervalMs: options.blockMs },
  });
  const sponsorAccounts = devnet.accounts.slice(2, 2 + options.keys);
  const payers = devnet.accounts.slice(2 + options.keys);
  const sponsors = sponsorAccounts.map((a) => a.address);
  const schema = `bench_chaos_${randomBytes(4).toString('hex')}`;
  const http = chaosHttp(256);
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  try {
    cluster = await startCluster(PROCESSES, {
      ...SERVICE_ENV,
      HOST: '127.0.0.1',
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: options.databaseUrl,
      DATABASE_SCHEMA: schema,
      SPONSOR_PRIVATE_KEYS: sponsorAccounts.map((a) => a.privateKey).join(','),
    });
    const context: RunContext = {
      devnet,
      cluster,
      http,
      random: seededRandom(seed),
      stop: stopSignal(),
      seller: devnet.accounts[1]!.address,
      namedSponsor: sponsors[0]!,
    };
    const startHeight = devnet.chain.height;
    const requests: HonestRequest[] = [];
    let nextId = 0;
    const ids = { next: () => nextId++ };
    const buyers = Promise.all(
      payers.map((payer, index) =>
        runHonestBuyer(
          context,
          payer.account,
          index < options.stxPayers ? 'STX' : 'sBTC',
          ids,
          requests,
        ),
      ),
    );
    const noAttack = Promise.resolve(undefined);
    const drain = chaos ? runDrain(context) : noAttack;
    const evict = chaos ? runEvict(context) : noAttack;
    const flood = chaos ? runFlood(context, options.floodConcurrency, options.floodMax) : noAttack;
    const faults = chaos ? runFaults(context) : Promise.resolve({ kills: 0, drops: 0, stalls: 0 });

    process.stderr.write(`  ${label}: load for ${options.seconds} s…\n`);
    await sleep(options.seconds * 1000);
    context.stop.stop();
    const faultCounts = await faults;
    devnet.chain.stall(false);
    if (!(await cluster.allUp(30_000))) throw new Error('a facilitator did not come back up');
    const attacks = (await Promise.all([drain, evict, flood])).filter(
      (tally): tally is AttackTally => tally !== undefined,
    );
    const buyersDone = await Promise.race([
      buyers.then(() => true),
      sleep(DRAIN_BUYERS_MS).then(() => false),
    ]);
    if (!buyersDone) process.stderr.write('  some buyers were still paying after 60 s\n');

    // Settling: at least 3 blocks, then until nothing of ours is unfinished, at most --settle-seconds.
    const loadEnd = devnet.chain.height;
    const settleStart = Date.now();
    const settleDeadline = settleStart + options.settleSeconds * 1000;
    const payerSet = new Set(payers.map((p) => p.address));
    const sponsorSet = new Set(sponsors);
    let pendingAtThreeBlocks: number | undefined;
    for (let look = 0; look < 10_000 && Date.now() < settleDeadline; look++) {
      await sleep(250);
      if (devnet.chain.height < loadEnd + 3) continue;
      const ledger = await readLedger(options.databaseUrl, schema);
      const pending = pendingNow(devnet.chain, ledger, sponsorSet, payerSet);
      pendingAtThreeBlocks ??= pending.length;
      const gaps = sponsors.some((s) => devnet.chain.nonces(s).missing.length > 0);
      if (pending.length === 0 && !gaps) break;
    }
    const settleSeconds = (Date.now() - settleStart) / 1000;
    const ledger = await readLedger(options.databaseUrl, schema, true);
    const result: RunResult = {
      label,
      audit: audit({
        chain: devnet.chain,
        blocks: devnet.chain.height - startHeight,
        seller: context.seller,
        sponsors,
        requests,
        attackAttempts: attacks.reduce((sum, tally) => sum + tally.attempts, 0),
        ledger,
      }),
      pendingAtThreeBlocks,
      settleSeconds,
      attacks,
      evicted: ((await evict) as { evicted?: number } | undefined)?.evicted ?? 0,
      faults: { ...faultCounts, kills: cluster.kills },
      rssMiB: { bench: peakRssMiB(), processes: cluster.peakRssMiB() },
      ledgerStates: ledger.states,
      requests,
    };
    for (const tally of attacks)
      process.stderr.write(`  ${label} ${tally.name}: ${describeAnswers(tally)}\n`);
    return result;
  } finally {
    await cluster?.stop();
    http.close();
    await devnet.stop();
    await dropSchema(options.databaseUrl, schema);
  }
}
