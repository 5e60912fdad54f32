/** The benchmark's flags, read once and checked, with the defaults the README documents. */
import { flag } from '../lib.js';

export type ChaosOptions = {
  /** Seconds of load in each run (the baseline and both chaos runs). */
  readonly seconds: number;
  /** Milliseconds between devnet blocks. */
  readonly blockMs: number;
  /** Sponsor keys in the pool. */
  readonly keys: number;
  /** Honest payers paying STX; `sbtcPayers` more pay sBTC. */
  readonly stxPayers: number;
  readonly sbtcPayers: number;
  /** Concurrent flood requests, and the most fresh flood addresses one run may create. */
  readonly floodConcurrency: number;
  readonly floodMax: number;
  /** Upper bound on the wait after the load for the chain and keepers to finish what is in flight. */
  readonly settleSeconds: number;
  readonly seed: number;
  readonly databaseUrl: string;
};

const quick = process.argv.includes('--quick');

export function readOptions(): ChaosOptions {
  const options: ChaosOptions = {
    seconds: Number(flag('seconds', quick ? '15' : '60')),
    blockMs: Number(flag('block-ms', '750')),
    keys: Number(flag('keys', '3')),
    stxPayers: Number(flag('payers', '8')),
    sbtcPayers: Number(flag('sbtc-payers', '2')),
    floodConcurrency: Number(flag('flood-concurrency', '24')),
    floodMax: Number(flag('flood-max', '3000')),
    settleSeconds: Number(flag('settle-seconds', '40')),
    seed: Number(flag('seed', String(Date.now() % 1_000_000))),
    databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  };
  const problems = [
    options.seconds >= 5 && options.seconds <= 600 ? '' : '--seconds must be 5 to 600',
    options.blockMs >= 100 && options.blockMs <= 5_000 ? '' : '--block-ms must be 100 to 5000',
    options.keys >= 1 && options.keys <= 20 ? '' : '--keys must be 1 to 20',
    options.stxPayers >= 1 && options.stxPayers <= 100 ? '' : '--payers must be 1 to 100',
    options.sbtcPayers >= 0 && options.sbtcPayers <= 100 ? '' : '--sbtc-payers must be 0 to 100',
    options.floodConcurrency >= 1 && options.floodConcurrency <= 256
      ? ''
      : '--flood-concurrency must be 1 to 256',
    options.floodMax >= 1 ? '' : '--flood-max must be at least 1',
    options.settleSeconds >= 5 && options.settleSeconds <= 300
      ? ''
      : '--settle-seconds must be 5 to 300',
    Number.isInteger(options.seed) ? '' : '--seed must be an integer',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return options;
}
