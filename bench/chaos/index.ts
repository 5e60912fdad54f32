/**
 * bench/chaos: honest buyers and attackers together against two facilitator processes on one PostgreSQL schema, over
 * HTTP, on a devnet mining on an interval, with processes SIGKILLed, pending transactions dropped and mining stalled.
 * A baseline run (honest buyers only, no faults) gives the throughput denominator; then two chaos runs, per the
 * benchmark rules. Exits 1 when a figure that must be 0 is not, after printing the payments at fault.
 *
 * Usage: npm run bench:chaos [-- --quick | --seconds 60] [--block-ms 750 --keys 3 --payers 8 --sbtc-payers 2
 *        --flood-concurrency 24 --flood-max 3000 --settle-seconds 40 --seed N]
 */
import { readOptions } from './options.js';
import { faultsOf, printReport } from './report.js';
import { type RunResult, runScenario } from './scenario.js';

const options = readOptions();
const runs: RunResult[] = [];
process.stderr.write(`bench/chaos: seed ${options.seed}\n`);
runs.push(await runScenario(options, 'baseline', false, options.seed));
runs.push(await runScenario(options, 'chaos run 1', true, options.seed + 1));
runs.push(await runScenario(options, 'chaos run 2', true, options.seed + 2));
printReport(options, runs);

const failing = runs.flatMap((run) =>
  faultsOf(run)
    .filter(([, items]) => items.length > 0)
    .map(([figure, items]) => `${run.label}: ${figure} = ${items.length}`),
);
if (failing.length > 0) {
  console.log(`\nFAILED: ${failing.join('; ')}`);
  process.exitCode = 1;
} else {
  console.log('\nEvery must-be-0 figure is 0.');
}
