/**
 * The printed result: one table with a column per run (the baseline, then the chaos runs), the figures that must be
 * 0 marked, and below it every payment or key at fault, so a failure names its evidence.
 */
import { printTable } from '../lib.js';
import type { ChaosOptions } from './options.js';
import type { RunResult } from './scenario.js';
import { SERVICE_ENV } from './scenario.js';

/** The figures that must be 0, by name, for the exit code and the fault listing. */
export function faultsOf(run: RunResult): [string, readonly string[]][] {
  const { audit } = run;
  return [
    ['paid twice', audit.paidTwice],
    ['money moved, request refused', audit.movedRefused],
    ['served, money never moved', audit.servedUnpaid],
    ['still pending after settling', audit.pending],
    ['frozen sponsors', audit.frozen],
  ];
}

export function printReport(options: ChaosOptions, runs: readonly RunResult[]): void {
  const baseline = runs[0]!;
  const perBlock = (run: RunResult) =>
    run.audit.blocks > 0 ? run.audit.honestConfirmed / run.audit.blocks : 0;
  const micro = (value: bigint) => value.toLocaleString('en-US');
  const row = (figure: string, target: string, value: (run: RunResult) => string | number) => [
    figure,
    target,
    ...runs.map((run) => String(value(run))),
  ];
  const attack = (run: RunResult, name: string) =>
    run.attacks.find((tally) => tally.name === name)?.attempts ?? 0;
  console.log(
    `\nbench/chaos: ${options.seconds} s of load a run, a block every ${options.blockMs} ms, ${options.keys} sponsor keys, ` +
      `${options.stxPayers} STX + ${options.sbtcPayers} sBTC honest payers, 2 facilitator processes on one PostgreSQL ` +
      `schema, flood concurrency ${options.floodConcurrency}, seed ${options.seed}\n` +
      `service: ${Object.entries(SERVICE_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n`,
  );
  printTable(
    ['figure', 'must be', ...runs.map((run) => run.label)],
    [
      row('blocks mined (load + settling)', '', (r) => r.audit.blocks),
      row('honest requests', '', (r) => r.audit.honestRequests),
      row('honest payments served', '', (r) => r.audit.served),
      row('paid twice', '0', (r) => r.audit.paidTwice.length),
      row('money moved, request refused', '0', (r) => r.audit.movedRefused.length),
      row('served, money never moved', '0', (r) => r.audit.servedUnpaid.length),
      row('pending 3 blocks after the load', '', (r) => r.pendingAtThreeBlocks ?? 'n/a'),
      row('still pending after settling', '0', (r) => r.audit.pending.length),
      row('settling took (s)', '', (r) => r.settleSeconds.toFixed(1)),
      row('frozen sponsors', '0', (r) => r.audit.frozen.length),
      row('attacker payments: drain', '', (r) => attack(r, 'drain')),
      row(
        'attacker payments: evict (RBF landed)',
        '',
        (r) => `${attack(r, 'evict')} (${r.evicted})`,
      ),
      row('attacker payments: flood', '', (r) => attack(r, 'flood')),
      row('sponsored txs failed on chain', '', (r) => r.audit.failedSponsored),
      row(
        'sponsor fees lost µSTX (chain / ledger)',
        '',
        (r) => `${micro(r.audit.sponsorFeesLost)} / ${micro(r.audit.ledgerFailedFees)}`,
      ),
      row('fees lost per attacker payment µSTX', '', (r) =>
        r.audit.attackAttempts > 0
          ? (Number(r.audit.sponsorFeesLost) / r.audit.attackAttempts).toFixed(2)
          : '',
      ),
      row(
        'keeper gap fillers (fees µSTX)',
        '',
        (r) => `${r.audit.fillers} (${micro(r.audit.fillerFees)})`,
      ),
      row('honest sponsored confirmed / block', '', (r) => perBlock(r).toFixed(2)),
      row('  ÷ baseline', '', (r) =>
        perBlock(baseline) > 0 ? (perBlock(r) / perBlock(baseline)).toFixed(2) : '',
      ),
      row('  ÷ keys', '', (r) => (perBlock(r) / options.keys).toFixed(2)),
      row('all sponsored confirmed / block', '', (r) =>
        r.audit.blocks > 0 ? (r.audit.sponsoredConfirmed / r.audit.blocks).toFixed(2) : '0.00',
      ),
      row(
        'kills / drops / stalls',
        '',
        (r) => `${r.faults.kills} / ${r.faults.drops} / ${r.faults.stalls}`,
      ),
      row(
        'peak RSS MiB (bench; processes)',
        '',
        (r) =>
          `${r.rssMiB.bench.toFixed(0)}; ${r.rssMiB.processes.map((m) => m.toFixed(0)).join(' + ')}`,
      ),
    ],
  );
  for (const run of runs) {
    const outcomes = [...run.audit.outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([outcome, n]) => `${outcome} ×${n}`)
      .join(', ');
    const ledger = Object.entries(run.ledgerStates)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    const answers = new Map<string, number>();
    for (const request of run.requests)
      for (const payment of request.payments)
        for (const answer of payment.answers) answers.set(answer, (answers.get(answer) ?? 0) + 1);
    const answered = [...answers]
      .sort((a, b) => b[1] - a[1])
      .map(([answer, n]) => `${answer} ×${n}`)
      .join(', ');
    console.log(`\n${run.label}: honest outcomes: ${outcomes}; ledger settlements: ${ledger}`);
    console.log(`${run.label}: every answer honest buyers got: ${answered}`);
    for (const [figure, items] of faultsOf(run)) {
      if (items.length === 0) continue;
      console.log(`${run.label}: ${figure} (${items.length}):`);
      for (const item of items.slice(0, 20)) console.log(`  - ${item}`);
      if (items.length > 20) console.log(`  … and ${items.length - 20} more`);
    }
  }
}
