/**
 * bench/facilitator/ab.ts: two builds of the facilitator settling side by side on one devnet, in alternating rounds,
 * so that a change's cost is measured against the build before it in the same run. On this shared 2-core machine a
 * round's rate moves by ±10 % from one minute to the next; two builds measured in separate runs cannot tell 5 % apart,
 * and measured in turn, round by round, they can.
 *
 * Each build is a self-contained `main.js` (the facilitator's bundle holds the library it was built with): keep the
 * build before a change with `cp -r apps/facilitator/dist apps/facilitator/dist-before` (inside the repository, where
 * its dependencies resolve; git ignores `dist-*`), change and rebuild, then compare `--a
 * apps/facilitator/dist-before/main.js` with the new `apps/facilitator/dist/main.js` (`--b`'s default, which must be
 * newer than its sources). Each build runs in a process of its own with its own ledger (a SQLite file, or a
 * PostgreSQL schema with `--database pg`), against the same devnet, which runs in its own process.
 *
 * Every settlement is a distinct fresh payment, broadcast, mined and confirmed. Each build first settles `--warm-up`
 * payments unmeasured (a service process starts cold). Then, in each of `--rounds` rounds, each build settles
 * `--settles` payments at `--concurrency`, A first in even rounds and B first in odd ones. A round gives each build's
 * settle rate, p50, CPU per settlement (from /proc: user plus system) and the devnet's CPU per settlement while it
 * ran (with `--database pg`, PostgreSQL's too, from every postgres process on the machine: work a build moves into
 * SQL is not a saving). `B ÷ A` is the median of the rounds' own ratios; the table gives each build's medians beside
 * it.
 *
 * After the table, where each build's settlements spent their time in the measured rounds: the mean of each settle
 * step (`x402_facilitator_settle_step_seconds` in its `/metrics`, read before the first round and after the last), for
 * a build that reports them. A step is reported once per settlement that takes it, bar a sponsored payment sponsored
 * afresh after a refusal.
 *
 * `--node-args "<args>"` starts both services under those node flags, say `--cpu-prof --cpu-prof-dir=/tmp/prof`, or
 * `--perf-basic-prof-only-functions` for `perf record -g -p <pid>` (the pids are printed at start). `--node-args-a`
 * and `--node-args-b` add flags to one build only: the same build under two runtime settings is an A/B too.
 *
 * Usage: npm run bench:facilitator:ab -- --a <main.js> [--b apps/facilitator/dist/main.js] [--database sqlite|pg]
 *   [--rounds 10] [--settles 1000] [--warm-up 2400] [--concurrency 32] [--payers 100] [--poll-ms 20] [--node-args ""]
 *   [--node-args-a ""] [--node-args-b ""]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { genesisAccounts } from '@x402-stacks/devnet';
import pg from 'pg';
import {
  flag,
  formatRate,
  keepAliveClient,
  type LoadResult,
  load,
  peakRssMiB,
  peakRssOfMiB,
  printTable,
  requireBuilt,
} from '../lib.js';
import { createPaymentSigner, type Payment, paymentRequirements } from '../payments.js';
import { cpuMsOf, postgresCpuMs } from './cpu.js';
import { type DevnetProcess, startDevnetProcess } from './devnet.js';
import { type ServiceProcess, startService } from './service.js';
import { readStepTotals, type StepTotals, stepMeans } from './settle-steps.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_B = 'apps/facilitator/dist/main.js';
const mainA = flag('a', '');
const mainB = flag('b', DEFAULT_B);
const database = flag('database', 'sqlite');
const rounds = Number(flag('rounds', '10'));
const settlesPerRound = Number(flag('settles', '1000'));
const warmUp = Number(flag('warm-up', '2400'));
const concurrency = Number(flag('concurrency', '32'));
const payerCount = Number(flag('payers', '100'));
const pollMs = Number(flag('poll-ms', '20'));
const argsOf = (name: string) => flag(name, '').split(' ').filter(Boolean);
const nodeArgs = argsOf('node-args');
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

if (process.argv.includes('--help') || !mainA) {
  process.stderr.write(
    'usage: npm run bench:facilitator:ab -- --a <main.js> [--b apps/facilitator/dist/main.js] [--database sqlite|pg]\n' +
      '  [--rounds 10] [--settles 1000] [--warm-up 2400] [--concurrency 32] [--payers 100] [--poll-ms 20] [--node-args ""]\n' +
      '  [--node-args-a ""] [--node-args-b ""]\n' +
      '  --a and --b are built facilitator bundles; keep one inside the repository, where its dependencies resolve:\n' +
      '  cp -r apps/facilitator/dist apps/facilitator/dist-before\n',
  );
  process.exit(process.argv.includes('--help') ? 0 : 2);
}
if (
  !(database === 'sqlite' || database === 'pg') ||
  !(Number.isInteger(rounds) && rounds >= 2) ||
  !(Number.isInteger(settlesPerRound) && settlesPerRound >= 1) ||
  !(Number.isInteger(warmUp) && warmUp >= 0) ||
  !(Number.isInteger(concurrency) && concurrency >= 1) ||
  !(Number.isInteger(payerCount) && payerCount >= 1) ||
  !(Number.isInteger(pollMs) && pollMs >= 10)
)
  throw new Error(
    '--database sqlite or pg, --rounds ≥ 2, --settles ≥ 1, --warm-up ≥ 0, --concurrency ≥ 1, --payers ≥ 1, --poll-ms ≥ 10 (whole numbers)',
  );
for (const main of [mainA, mainB])
  if (!existsSync(resolve(main))) throw new Error(`${main} does not exist: build it first`);
// The default B is this checkout's build: one older than its sources would measure the wrong code.
if (resolve(mainB) === join(ROOT, DEFAULT_B))
  requireBuilt(ROOT, {
    [DEFAULT_B]: [
      'apps/facilitator/src',
      'packages/x402-stacks/src',
      'packages/service-runtime/src',
    ],
  });

const accounts = genesisAccounts(payerCount + 2);
const payers = accounts.slice(2).map((a) => a.account);
const requirements = paymentRequirements(accounts[1]!.address);
const signer = createPaymentSigner(requirements);
const settleConcurrency = Math.min(concurrency, payers.length);
const http = keepAliveClient(settleConcurrency * 2);
const settleBody = (payment: Payment) =>
  JSON.stringify({ x402Version: 2, paymentPayload: payment, paymentRequirements: requirements });

type Build = {
  readonly label: 'A' | 'B';
  readonly main: string;
  /** Node flags of this build alone, after `--node-args`. */
  readonly nodeArgs: readonly string[];
  service?: ServiceProcess;
  peakRssMiB?: number;
  /** The settle steps' totals from /metrics before the measured rounds (none: a build without the metric). */
  stepsBefore?: StepTotals | undefined;
  /** Each step's mean over the measured rounds. */
  steps?: ReturnType<typeof stepMeans>;
};
type Round = LoadResult & {
  readonly cpuMs: number;
  readonly devnetCpuMs: number;
  /** PostgreSQL's CPU per settlement (every postgres process on the machine), with `--database pg`. */
  readonly databaseCpuMs?: number;
};

/** Settles `batch` through `build`, measuring its CPU and the devnet's per settlement. */
async function settleRound(
  build: Build,
  batch: readonly Payment[],
  devnetPid: number,
): Promise<Round> {
  const { url, child } = build.service!;
  const before = cpuMsOf(child.pid!);
  const devnetBefore = cpuMsOf(devnetPid);
  // On PostgreSQL, work a build moves into SQL is CPU of the database's processes, shown beside its own.
  const databaseBefore = database === 'pg' ? postgresCpuMs() : undefined;
  const result = await load({
    concurrency: settleConcurrency,
    seconds: 3_600,
    total: batch.length,
    request: async (i) => {
      const answer = await http.post(`${url}/settle`, settleBody(batch[i]!));
      const settled = JSON.parse(answer.text) as { success?: boolean };
      if (!settled.success) throw new Error(`build ${build.label} did not settle: ${answer.text}`);
    },
  });
  // A batch cut short would leave its payers' later nonces pending for good, and every later round stalled.
  if (result.requests !== batch.length)
    throw new Error(
      `build ${build.label} settled ${result.requests} of ${batch.length} in an hour`,
    );
  return {
    ...result,
    cpuMs: (cpuMsOf(child.pid!) - before) / result.requests,
    devnetCpuMs: (cpuMsOf(devnetPid) - devnetBefore) / result.requests,
    ...(databaseBefore === undefined
      ? {}
      : { databaseCpuMs: (postgresCpuMs() - databaseBefore) / result.requests }),
  };
}

/** The middle value (the upper middle of an even count). */
const middle = (values: readonly number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

const builds: [Build, Build] = [
  { label: 'A', main: resolve(mainA), nodeArgs: argsOf('node-args-a') },
  { label: 'B', main: resolve(mainB), nodeArgs: argsOf('node-args-b') },
];
const dir = mkdtempSync(join(tmpdir(), 'x402-bench-ab-'));
const schema = `bench_ab_${randomBytes(4).toString('hex')}`;
const results = new Map<Build, Round[]>(builds.map((build) => [build, []]));
let devnet: DevnetProcess | undefined;
try {
  devnet = await startDevnetProcess(accounts.length);
  for (const build of builds) {
    build.service = await startService(
      build.main,
      {
        PORT: '0',
        STACKS_API_URL_TESTNET: devnet.url,
        ...(database === 'pg'
          ? { DATABASE_URL, DATABASE_SCHEMA: `${schema}_${build.label.toLowerCase()}` }
          : { DATABASE_URL: `sqlite:${join(dir, `${build.label}.db`)}` }),
        RATE_LIMIT_PER_MINUTE: '0',
        POLL_INTERVAL_MS: String(pollMs),
        LOG_LEVEL: 'info',
      },
      [...nodeArgs, ...build.nodeArgs],
    );
    process.stderr.write(
      `${build.label}: ${[...build.nodeArgs, build.main].join(' ')}, pid ${build.service.child.pid}\n`,
    );
  }
  // Signed in the order they reach the chain: a payer's nonces must arrive in order.
  const warmUps = [await signer.fresh(payers, warmUp), await signer.fresh(payers, warmUp)];
  const plan: Payment[][][] = [];
  for (let round = 0; round < rounds; round++)
    plan.push([
      await signer.fresh(payers, settlesPerRound),
      await signer.fresh(payers, settlesPerRound),
    ]);
  for (const [k, build] of builds.entries()) {
    if (warmUp === 0) break;
    const warm = await settleRound(build, warmUps[k]!, devnet.pid);
    process.stderr.write(`  ${build.label} warm-up: ${formatRate(warm.perSecond)}/s\n`);
  }
  for (const build of builds) build.stepsBefore = await readStepTotals(build.service!.url);
  for (const [round, [first, second]] of plan.entries()) {
    // A first in even rounds, B first in odd ones: a drift within the run lands on both.
    const order = round % 2 === 0 ? builds : ([builds[1], builds[0]] as const);
    const a = await settleRound(order[0], first!, devnet.pid);
    const b = await settleRound(order[1], second!, devnet.pid);
    results.get(order[0])!.push(a);
    results.get(order[1])!.push(b);
    const [ofA, ofB] = builds.map((build) => results.get(build)!.at(-1)!) as [Round, Round];
    process.stderr.write(
      `  round ${round + 1}/${rounds}: A ${formatRate(ofA.perSecond)}/s ${ofA.cpuMs.toFixed(3)} ms, ` +
        `B ${formatRate(ofB.perSecond)}/s ${ofB.cpuMs.toFixed(3)} ms, CPU B ÷ A ${(ofB.cpuMs / ofA.cpuMs).toFixed(3)}\n`,
    );
  }
  for (const build of builds) {
    build.peakRssMiB = peakRssOfMiB(build.service!.child.pid!);
    build.steps = stepMeans(build.stepsBefore, await readStepTotals(build.service!.url));
  }
} finally {
  await Promise.all(builds.map((build) => build.service?.stop()));
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (database === 'pg') {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect().then(
      async () => {
        for (const build of builds)
          await client.query(
            `drop schema if exists ${schema}_${build.label.toLowerCase()} cascade`,
          );
        await client.end();
      },
      () => undefined,
    );
  }
}

const [roundsA, roundsB] = builds.map((build) => results.get(build)!) as [Round[], Round[]];
const ratio = (of: (round: Round) => number) =>
  middle(roundsB.map((round, k) => of(round) / of(roundsA[k]!)));
console.log(
  `\nbench/facilitator/ab: ${database === 'pg' ? 'PostgreSQL' : 'SQLite'} ledgers, ${rounds} rounds of ` +
    `${settlesPerRound} settlements a build at concurrency ${settleConcurrency}, ${payers.length} payers, ` +
    `${warmUp} warm-up settlements a build; status rounds every ${pollMs} ms; A is the baseline\n`,
);
printTable(
  [
    'build',
    'settle/s',
    'p50 ms',
    'CPU ms/settle',
    'devnet CPU ms/settle',
    ...(database === 'pg' ? ['PostgreSQL CPU ms/settle'] : []),
    'peak RSS MiB',
    'CPU ÷ A, per round',
    'settle/s ÷ A, per round',
  ],
  builds.map((build) => {
    const own = results.get(build)!;
    const isB = build.label === 'B';
    return [
      `${build.label}: ${[...build.nodeArgs, build.main.replace(ROOT, '')].join(' ')}`,
      formatRate(middle(own.map((round) => round.perSecond))),
      middle(own.map((round) => round.p50Ms)).toFixed(1),
      middle(own.map((round) => round.cpuMs)).toFixed(3),
      middle(own.map((round) => round.devnetCpuMs)).toFixed(3),
      ...(database === 'pg' ? [middle(own.map((round) => round.databaseCpuMs!)).toFixed(3)] : []),
      build.peakRssMiB!.toFixed(0),
      isB ? ratio((round) => round.cpuMs).toFixed(3) : '1',
      isB ? ratio((round) => round.perSecond).toFixed(3) : '1',
    ];
  }),
);
const stepNames = [...new Set(builds.flatMap((build) => [...(build.steps?.keys() ?? [])]))];
if (stepNames.length > 0) {
  console.log(
    "\nwhere a settlement spent its time, measured rounds only (mean ms per report of the step, from each build's /metrics; blank: a build without the metric)\n",
  );
  printTable(
    ['build', ...stepNames],
    builds.map((build) => [
      build.label,
      ...stepNames.map((step) => build.steps?.get(step)?.meanMs.toFixed(2) ?? ''),
    ]),
  );
}
console.log(`\nthis process (load generator): peak RSS ${peakRssMiB().toFixed(0)} MiB`);
