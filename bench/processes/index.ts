/**
 * bench/processes: the memory of each runnable process, started the way its README says, against the old way of
 * starting it and against its peers, in the same run.
 * 1. An idle `x402-stacks devnet`: the whole process tree's resident memory a few seconds after it is ready, for the
 *    built CLI run by `node` directly, the same under `npx` (npm's own process stays resident above it), and the
 *    previous launcher (the TypeScript sources compiled at start by tsx). Target: the documented way ≤ 110 MiB.
 * 2. Sellers under the same load: Express (the version installed at the root) with our `paymentMiddleware` (imported from the package root, as the
 *    quickstart does, and from `x402-stacks/express`; and with its facilitator client on `fetch`, the previous
 *    default, as the same-run "before"), the incumbent x402-stacks@2's, and a bare route; each a plain
 *    `node` process (bench/processes/seller.mjs) loading the libraries' builds, serving unpaid requests at one fixed
 *    rate for a fixed time. The rate is the same for all: V8 sizes its young generation by how fast a process
 *    allocates, so a peak measured at each server's own maximum rate would compare throughputs, not footprints.
 *    Target: our peak RSS ≤ 1.2 × the incumbent's.
 * 3. The facilitator service on a SQLite ledger after load (verify for a fixed time over many payers, then a run of
 *    fresh settlements, each broadcast to the devnet in this process, mined and confirmed): the built service
 *    (`node apps/facilitator/dist/main.js`) against its sources under tsx. Target: built, peak ≤ 160 MiB.
 * Rounds rotate the order of the variants; tables show the median round and every round's figure.
 *
 * Needs `npm run build` first (the sellers load the library's dist/, the services their own).
 * Usage: npm run bench:processes [-- --rounds 2 --idle-seconds 3 --seconds 3 --rate 300 --concurrency 16 --payers 100
 *        --settles 300]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import { createFacilitator } from 'x402-stacks';
import { BUNDLED_SOURCES } from '../../packages/cli/bin/bundled-sources.js';
import {
  flag,
  formatRate,
  keepAliveClient,
  type LoadResult,
  load,
  peakRssMiB,
  printTable,
  requireBuilt,
} from '../lib.js';
import { createPaymentSigner, type Payment, paymentRequirements } from '../payments.js';
import { peakMiB, rssMiB, treeRssMiB } from './memory.js';

const rounds = Number(flag('rounds', '2'));
const idleSeconds = Number(flag('idle-seconds', '3'));
const seconds = Number(flag('seconds', '3'));
const rate = Number(flag('rate', '300'));
const concurrency = Number(flag('concurrency', '16'));
const payerCount = Number(flag('payers', '100'));
const settles = Number(flag('settles', '300'));
if (
  !(rounds >= 1) ||
  !(idleSeconds >= 0) ||
  !(seconds > 0) ||
  !(rate > 0) ||
  !(concurrency >= 1) ||
  !(payerCount >= 2) ||
  !(settles >= payerCount)
) {
  throw new Error(
    '--rounds ≥ 1, --idle-seconds ≥ 0, --seconds > 0, --rate > 0, --concurrency ≥ 1, --payers ≥ 2, --settles ≥ --payers',
  );
}
const TARGETS = { devnetMiB: 110, sellerRatio: 1.2, facilitatorMiB: 160 };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const path = (relative: string) => join(ROOT, relative);
requireBuilt(ROOT, {
  'packages/x402-stacks/dist/index.js': ['packages/x402-stacks/src'],
  'packages/cli/dist/main.js': BUNDLED_SOURCES,
  'apps/facilitator/dist/main.js': [
    'apps/facilitator/src',
    'packages/x402-stacks/src',
    'packages/service-runtime/src',
  ],
});

const median = (values: number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const mib = (value: number) => value.toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Round r runs the variants starting from the r-th, so no variant always goes first on a warm or busy machine. */
const rotated = <T>(items: T[], round: number) =>
  items.map((_, i) => items[(i + round) % items.length]!);

type Started = { child: ChildProcess; match: RegExpExecArray };

/** Spawns a process and waits until its output matches `ready`. */
function start(
  command: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<Started> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    let matched = false;
    const read = (chunk: Buffer) => {
      if (matched) return; // past the banner: drain the logs, as a log shipper would
      seen += chunk.toString();
      const match = ready.exec(seen);
      if (match) {
        matched = true;
        resolve({ child, match });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      if (!matched) reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${seen}`));
    });
  });
}

/** SIGTERM to the process and everything below it (npm exec and sh included), then waits for the top one. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  for (const { pid } of treeRssMiB(child.pid!).each.reverse()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await exited;
}

// --- 1. An idle devnet ------------------------------------------------------------------------------------------

const BIN = 'packages/cli/bin/x402-stacks.js';
const devnetVariants = [
  {
    label: 'node packages/cli/bin/x402-stacks.js devnet (built JS)',
    command: process.execPath,
    args: [BIN],
  },
  {
    label: 'npx x402-stacks devnet (built JS, npm resident)',
    command: 'npx',
    args: ['x402-stacks'],
  },
  {
    label: 'previous launcher: sources compiled at start by tsx',
    command: process.execPath,
    args: ['--import', 'tsx', 'packages/cli/src/main.ts'],
  },
];
const devnetRuns = devnetVariants.map(() => [] as { total: number; processes: number }[]);
for (let round = 0; round < rounds; round++) {
  for (const variant of rotated(devnetVariants, round)) {
    const { child } = await start(
      variant.command,
      [...variant.args, 'devnet', '--port', '0'],
      /Press Ctrl-C to stop/,
      { TSX_TSCONFIG_PATH: path('tsconfig.json') },
    );
    await sleep(idleSeconds * 1000);
    const tree = treeRssMiB(child.pid!);
    devnetRuns[devnetVariants.indexOf(variant)]!.push({
      total: tree.total,
      processes: tree.each.length,
    });
    process.stderr.write(`  idle devnet, ${variant.label}: ${mib(tree.total)} MiB\n`);
    await stop(child);
  }
}

// --- 2. Sellers under the same load -----------------------------------------------------------------------------

const devnet = await startDevnet({ port: 0, accounts: payerCount + 2 });
const payTo = devnet.accounts[1]!.address;
const payers = devnet.accounts.slice(2).map((a) => a.account);
const engine = createFacilitator({ networks: { testnet: { url: devnet.url } } });
const facilitatorServer = serve({
  fetch: createFacilitatorApp({ facilitator: engine }).fetch,
  port: 0,
  hostname: '127.0.0.1',
}) as Server;
if (!facilitatorServer.listening) await once(facilitatorServer, 'listening');
const sellerFacilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;

const expressVersion = (
  createRequire(path('package.json'))('express/package.json') as { version: string }
).version;
const sellerVariants = [
  { label: 'bare Express route', kind: 'bare', status: 200 },
  { label: 'incumbent x402-stacks@2 paymentMiddleware', kind: 'incumbent', status: 402 },
  { label: "our paymentMiddleware from 'x402-stacks'", kind: 'ours', status: 402 },
  { label: "our paymentMiddleware from 'x402-stacks/express'", kind: 'ours-subpath', status: 402 },
  {
    label: 'ours, facilitator client on fetch (the previous default)',
    kind: 'ours-fetch',
    status: 402,
  },
];
type SellerRun = { startedMiB: number; peakMiB: number; load: LoadResult };
const sellerRuns = sellerVariants.map(() => [] as SellerRun[]);
const http = keepAliveClient(concurrency);
for (let round = 0; round < rounds; round++) {
  for (const variant of rotated(sellerVariants, round)) {
    const { child, match } = await start(
      process.execPath,
      [path('bench/processes/seller.mjs'), variant.kind, payTo, sellerFacilitatorUrl],
      /listening on (\S+)/,
    );
    const startedMiB = rssMiB(child.pid!);
    const url = `${match[1]}/paid`;
    const begin = performance.now();
    const result = await load({
      concurrency,
      seconds,
      request: async (i) => {
        // Request i leaves at its slot of the fixed rate (open loop), whatever the server's own speed.
        const wait = begin + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        const answer = await http.get(url);
        if (answer.status !== variant.status) {
          throw new Error(`${variant.label}: HTTP ${answer.status}, expected ${variant.status}`);
        }
      },
    });
    const run = { startedMiB, peakMiB: peakMiB(child.pid!), load: result };
    sellerRuns[sellerVariants.indexOf(variant)]!.push(run);
    process.stderr.write(
      `  seller, ${variant.label}: ${mib(run.startedMiB)} → peak ${mib(run.peakMiB)} MiB, ${formatRate(result.perSecond)}/s\n`,
    );
    await stop(child);
  }
}

// --- 3. The facilitator after load ------------------------------------------------------------------------------

const requirements = paymentRequirements(payTo);
const signer = createPaymentSigner(requirements);
const bodyOf = (paymentPayload: Payment) =>
  JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements: requirements });

/** Fresh payments, payers interleaved so concurrent requests are of different payers, each in nonce order. */
const freshPayments = async (count: number) => (await signer.fresh(payers, count)).map(bodyOf);

const facilitatorVariants = [
  {
    label: 'node apps/facilitator/dist/main.js (built JS)',
    args: ['apps/facilitator/dist/main.js'],
  },
  {
    label: 'previous start: sources compiled at start by tsx',
    args: ['--import', 'tsx', 'apps/facilitator/src/main.ts'],
  },
];
type FacilitatorRun = {
  startedMiB: number;
  afterMiB: number;
  peakMiB: number;
  verify: LoadResult;
  settle: LoadResult;
};
const facilitatorRuns = facilitatorVariants.map(() => [] as FacilitatorRun[]);
const post = async (url: string, body: string) =>
  JSON.parse((await http.post(url, body)).text) as { isValid?: boolean; success?: boolean };
for (let round = 0; round < rounds; round++) {
  for (const variant of rotated(facilitatorVariants, round)) {
    const directory = mkdtempSync(join(tmpdir(), 'bench-processes-'));
    const { child, match } = await start(process.execPath, variant.args, /on (http:\/\/\S+)/, {
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(directory, 'facilitator.db')}`,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      TSX_TSCONFIG_PATH: path('tsconfig.json'),
    });
    try {
      const url = match[1]!;
      const startedMiB = rssMiB(child.pid!);
      // One payment per payer at its next nonce: valid now, verified many times over, never settled.
      const verifyBodies = (await signer.verifiable(payers)).map(bodyOf);
      const verify = await load({
        concurrency,
        seconds,
        request: async (i) => {
          const verdict = await post(`${url}/verify`, verifyBodies[i % verifyBodies.length]!);
          if (!verdict.isValid) throw new Error(`verify refused: ${JSON.stringify(verdict)}`);
        },
      });
      const payments = await freshPayments(settles);
      const settle = await load({
        concurrency: Math.min(concurrency, payers.length),
        seconds: 600,
        total: payments.length,
        request: async (i) => {
          const settled = await post(`${url}/settle`, payments[i]!);
          if (!settled.success) throw new Error(`settle failed: ${JSON.stringify(settled)}`);
        },
      });
      const run = {
        startedMiB,
        afterMiB: rssMiB(child.pid!),
        peakMiB: peakMiB(child.pid!),
        verify,
        settle,
      };
      facilitatorRuns[facilitatorVariants.indexOf(variant)]!.push(run);
      process.stderr.write(
        `  facilitator, ${variant.label}: ${mib(run.startedMiB)} → ${mib(run.afterMiB)} MiB, peak ${mib(run.peakMiB)}\n`,
      );
    } finally {
      await stop(child);
      rmSync(directory, { recursive: true, force: true });
    }
  }
}
facilitatorServer.close();
await engine.idle();
await devnet.stop();

// --- Tables -----------------------------------------------------------------------------------------------------

const each = (values: number[]) => values.map(mib).join(', ');

console.log(
  `\nidle \`x402-stacks devnet\` process trees, ${idleSeconds} s after ready (${rounds} rounds)\n`,
);
const documentedDevnet = median(devnetRuns[0]!.map((r) => r.total));
const previousDevnet = median(devnetRuns[2]!.map((r) => r.total));
printTable(
  ['how it is started', 'processes', 'tree RSS MiB (median)', 'each round', '÷ previous launcher'],
  devnetVariants.map((variant, i) => {
    const totals = devnetRuns[i]!.map((r) => r.total);
    return [
      variant.label,
      median(devnetRuns[i]!.map((r) => r.processes)),
      mib(median(totals)),
      each(totals),
      (median(totals) / previousDevnet).toFixed(2),
    ];
  }),
);

console.log(
  `\nsellers on Express ${expressVersion}: unpaid GET at ${rate}/s for ${seconds} s (at most ${concurrency} in flight), one fresh process each (${rounds} rounds)\n`,
);
const incumbentPeak = median(sellerRuns[1]!.map((r) => r.peakMiB));
printTable(
  [
    'seller',
    'RSS after start MiB',
    'peak RSS MiB',
    'each round (peak)',
    'req/s',
    '÷ incumbent peak',
  ],
  sellerVariants.map((variant, i) => {
    const runs = sellerRuns[i]!;
    const peaks = runs.map((r) => r.peakMiB);
    return [
      variant.label,
      mib(median(runs.map((r) => r.startedMiB))),
      mib(median(peaks)),
      each(peaks),
      formatRate(median(runs.map((r) => r.load.perSecond))),
      (median(peaks) / incumbentPeak).toFixed(2),
    ];
  }),
);

console.log(
  `\nthe facilitator on SQLite: /verify for ${seconds} s over ${payerCount} payers, then ${settles} settlements (${rounds} rounds)\n`,
);
printTable(
  [
    'service',
    'RSS after start MiB',
    'RSS after load MiB',
    'peak RSS MiB',
    'each round (peak)',
    'verify/s',
    'settle/s',
  ],
  facilitatorVariants.map((variant, i) => {
    const runs = facilitatorRuns[i]!;
    const peaks = runs.map((r) => r.peakMiB);
    return [
      variant.label,
      mib(median(runs.map((r) => r.startedMiB))),
      mib(median(runs.map((r) => r.afterMiB))),
      mib(median(peaks)),
      each(peaks),
      formatRate(median(runs.map((r) => r.verify.perSecond))),
      formatRate(median(runs.map((r) => r.settle.perSecond))),
    ];
  }),
);

const sellerRatio = median(sellerRuns[2]!.map((r) => r.peakMiB)) / incumbentPeak;
const facilitatorPeak = median(facilitatorRuns[0]!.map((r) => r.peakMiB));
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
console.log(
  `\ntargets: idle devnet tree ≤ ${TARGETS.devnetMiB} MiB: ${mib(documentedDevnet)} ${verdict(documentedDevnet <= TARGETS.devnetMiB)}; ` +
    `seller peak ≤ ${TARGETS.sellerRatio} × incumbent: ${sellerRatio.toFixed(2)} ${verdict(sellerRatio <= TARGETS.sellerRatio)}; ` +
    `facilitator peak ≤ ${TARGETS.facilitatorMiB} MiB: ${mib(facilitatorPeak)} ${verdict(facilitatorPeak <= TARGETS.facilitatorMiB)}`,
);
console.log(
  `peak RSS of this process (devnet, in-process facilitator, load): ${mib(peakRssMiB())} MiB`,
);
