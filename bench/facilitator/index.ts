/**
 * bench/facilitator: the facilitator service under load, against the devnet with a block mined on every broadcast.
 * - baseline: the library's `checkPaymentTransaction` on the same payments, in this process (the target's
 *   denominator: HTTP `/verify` ≥ 0.5 × this rate);
 * - the in-process engine: `createFacilitator(...).verify` and `.settle`, no HTTP hop;
 * - the service as child processes over HTTP on 127.0.0.1: one process on SQLite, one on PostgreSQL, and two sharing
 *   one PostgreSQL schema (requests alternate between them); `/verify` and `/settle` requests/s with p50 and p99, and
 *   each process's peak RSS.
 *
 * Verify runs with the service's default per-payer cache (VERIFY_CACHE_MS=2000); every settle is a distinct, fresh
 * payment (a settle succeeds once), read against the chain without the cache, broadcast, mined and confirmed.
 *
 * Usage: npm run bench:facilitator [-- --seconds 3 --payers 100 --settles 600 --concurrency 32]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import pg from 'pg';
import {
  checkPaymentTransaction,
  createFacilitator,
  createPaymentTransaction,
  type StacksAccount,
} from 'x402-stacks';
import {
  flag,
  formatRate,
  keepAliveClient,
  type LoadResult,
  load,
  peakRssMiB,
  peakRssOfMiB,
  printTable,
} from '../lib.js';

const seconds = Number(flag('seconds', '3'));
const payerCount = Number(flag('payers', '100'));
const settlesPerRow = Number(flag('settles', '600'));
const concurrency = Number(flag('concurrency', '32'));
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TARGET = 0.5;
const main = fileURLToPath(new URL('../../apps/facilitator/src/main.ts', import.meta.url));

if (!(seconds > 0) || !(payerCount >= 2) || !(settlesPerRow >= payerCount) || !(concurrency >= 1))
  throw new Error('--seconds > 0, --payers ≥ 2, --settles ≥ --payers and --concurrency ≥ 1');

const devnet = await startDevnet({ port: 0, accounts: payerCount + 2 });
const seller = devnet.accounts[1]!.address;
const payers = devnet.accounts.slice(2).map((a) => a.account);
const requirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: seller,
  maxTimeoutSeconds: 300,
};
const nextNonce = new Map<string, bigint>(payers.map((p) => [p.address, 0n]));

async function sign(payer: StacksAccount, nonce: bigint) {
  const { transaction } = await createPaymentTransaction({
    account: payer,
    requirements,
    nonce,
    fee: 300n,
  });
  return { x402Version: 2, accepted: requirements, payload: { transaction } };
}

/** Fresh payments for one settle row: payer-major, so a worker walks one payer's nonces in order. */
async function freshPayments(count: number) {
  const perPayer = Math.ceil(count / payers.length);
  const batches = await Promise.all(
    payers.map(async (payer) => {
      const first = nextNonce.get(payer.address)!;
      nextNonce.set(payer.address, first + BigInt(perPayer));
      return Promise.all(
        Array.from({ length: perPayer }, (_, k) => sign(payer, first + BigInt(k))),
      );
    }),
  );
  // Interleave payers so concurrent requests are of different payers, each payer's in nonce order.
  const ordered: Awaited<ReturnType<typeof sign>>[] = [];
  for (let k = 0; k < perPayer; k++) for (const batch of batches) ordered.push(batch[k]!);
  return ordered.slice(0, count);
}

/** One payment per payer at its next nonce: valid now, and only verified, never settled. */
const verifyPaymentsNow = () =>
  Promise.all(payers.map((payer) => sign(payer, nextNonce.get(payer.address)!)));

process.stderr.write(`signing ${payerCount} verify payments…\n`);
const verifyPayments = await verifyPaymentsNow();

// 1. The baseline: the pure check, one caller, in this process.
const check = await load({
  concurrency: 1,
  seconds,
  request: async (i) => {
    const payment = verifyPayments[i % verifyPayments.length]!;
    if (!checkPaymentTransaction(payment.payload.transaction, requirements).isValid)
      throw new Error('the benchmark payment does not check');
  },
});
process.stderr.write(`  check: ${formatRate(check.perSecond)}/s\n`);

// 2. The engine in process: no HTTP hop, the same cache and chain as the service.
const engine = createFacilitator({
  networks: { testnet: { url: devnet.url } },
  verifyCacheMs: 2_000,
  pollIntervalMs: 20,
});
const engineVerifyPayments = await verifyPaymentsNow();
const engineVerify = await load({
  concurrency,
  seconds,
  request: async (i) => {
    const payment = engineVerifyPayments[i % engineVerifyPayments.length];
    const verdict = await engine.verify(payment, requirements);
    if (!verdict.isValid) throw new Error(`in-process verify refused: ${verdict.invalidReason}`);
  },
});
process.stderr.write(`  engine verify: ${formatRate(engineVerify.perSecond)}/s\n`);
const engineSettlePayments = await freshPayments(settlesPerRow);
const engineSettle = await load({
  concurrency: Math.min(concurrency, payers.length),
  seconds: 600,
  total: engineSettlePayments.length,
  request: async (i) => {
    const settled = await engine.settle(engineSettlePayments[i], requirements);
    if (!settled.success) throw new Error(`in-process settle failed: ${settled.errorReason}`);
  },
});
process.stderr.write(`  engine settle: ${formatRate(engineSettle.perSecond)}/s\n`);
await engine.idle();

// 3. The service over HTTP.
type Service = { url: string; child: ChildProcess };

async function startService(env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner: string | undefined = '';
  const url = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      if (banner === undefined) return; // past the banner: drain the request logs, as a log shipper would
      banner += chunk.toString();
      const match = /on (http:\/\/\S+)/.exec(banner);
      if (match) {
        banner = undefined;
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', read);
    child.once('exit', (code) => reject(new Error(`the facilitator exited with ${code}`)));
  });
  return { url, child };
}

const http = keepAliveClient(concurrency);

async function post(url: string, body: string) {
  const answer = await http.post(url, body);
  return JSON.parse(answer.text) as { isValid?: boolean; success?: boolean; errorReason?: string };
}

type Row = {
  label: string;
  /** GET /supported on the same processes: a route that does no work, the ceiling of any route here. */
  floor: LoadResult;
  verify: LoadResult;
  settle: LoadResult;
  rssMiB: number[];
};

async function runService(
  label: string,
  processes: number,
  database: { url: string; schema?: string },
): Promise<Row> {
  const env = {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: database.url,
    ...(database.schema ? { DATABASE_SCHEMA: database.schema } : {}),
    RATE_LIMIT_PER_MINUTE: '0',
    VERIFY_CACHE_MS: '2000',
    LOG_LEVEL: 'info',
  };
  const services = await Promise.all(Array.from({ length: processes }, () => startService(env)));
  const at = (i: number) => services[i % services.length]!.url;
  const verifyBodies = (await verifyPaymentsNow()).map((paymentPayload) =>
    JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements: requirements }),
  );
  try {
    const floor = await load({
      concurrency,
      seconds,
      request: (i) => http.get(`${at(i)}/supported`),
    });
    const verify = await load({
      concurrency,
      seconds,
      request: async (i) => {
        const verdict = await post(`${at(i)}/verify`, verifyBodies[i % verifyBodies.length]!);
        if (!verdict.isValid) throw new Error(`HTTP verify refused: ${JSON.stringify(verdict)}`);
      },
    });
    process.stderr.write(`  ${label} verify: ${formatRate(verify.perSecond)}/s\n`);
    const payments = (await freshPayments(settlesPerRow)).map((paymentPayload) =>
      JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements: requirements }),
    );
    const settle = await load({
      concurrency: Math.min(concurrency, payers.length),
      seconds: 600,
      total: payments.length,
      request: async (i) => {
        const settled = await post(`${at(i)}/settle`, payments[i]!);
        if (!settled.success) throw new Error(`HTTP settle failed: ${JSON.stringify(settled)}`);
      },
    });
    process.stderr.write(`  ${label} settle: ${formatRate(settle.perSecond)}/s\n`);
    return {
      label,
      floor,
      verify,
      settle,
      rssMiB: services.map((s) => peakRssOfMiB(s.child.pid!)),
    };
  } finally {
    await Promise.all(
      services.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.child.once('exit', () => resolve());
            s.child.kill('SIGTERM');
          }),
      ),
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), 'x402-bench-facilitator-'));
const schema = `bench_facilitator_${randomBytes(4).toString('hex')}`;
const rows: Row[] = [];
try {
  rows.push(await runService('HTTP, 1 process, SQLite', 1, { url: `sqlite:${join(dir, 'l.db')}` }));
  rows.push(
    await runService('HTTP, 1 process, PostgreSQL', 1, {
      url: DATABASE_URL,
      schema: `${schema}_1`,
    }),
  );
  rows.push(
    await runService('HTTP, 2 processes, PostgreSQL', 2, {
      url: DATABASE_URL,
      schema: `${schema}_2`,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect().then(
    async () => {
      for (const suffix of ['_1', '_2'])
        await client.query(`drop schema if exists ${schema}${suffix} cascade`);
      await client.end();
    },
    () => undefined,
  );
  await devnet.stop();
}

const ms = (value: number) => value.toFixed(1);
const ratio = (value: number) => (value / check.perSecond).toFixed(2);
console.log(
  `\nbench/facilitator: ${payerCount} payers, concurrency ${concurrency}, ${settlesPerRow} settles a row, ` +
    `${seconds} s verify rows; devnet mines a block on every broadcast\n`,
);
printTable(
  [
    'mode',
    'verify/s',
    'verify p50 ms',
    'verify p99 ms',
    'verify ÷ check',
    'empty route/s',
    'verify ÷ empty',
    'settle/s',
    'settle p50 ms',
    'settle p99 ms',
    'peak RSS MiB',
  ],
  [
    [
      'checkPaymentTransaction (baseline)',
      formatRate(check.perSecond),
      ms(check.p50Ms),
      ms(check.p99Ms),
      '1.00',
      '',
      '',
      '',
      '',
      '',
      '',
    ],
    [
      'engine in process',
      formatRate(engineVerify.perSecond),
      ms(engineVerify.p50Ms),
      ms(engineVerify.p99Ms),
      ratio(engineVerify.perSecond),
      '',
      '',
      formatRate(engineSettle.perSecond),
      ms(engineSettle.p50Ms),
      ms(engineSettle.p99Ms),
      peakRssMiB().toFixed(0),
    ],
    ...rows.map((row) => [
      row.label,
      formatRate(row.verify.perSecond),
      ms(row.verify.p50Ms),
      ms(row.verify.p99Ms),
      ratio(row.verify.perSecond),
      formatRate(row.floor.perSecond),
      (row.verify.perSecond / row.floor.perSecond).toFixed(2),
      formatRate(row.settle.perSecond),
      ms(row.settle.p50Ms),
      ms(row.settle.p99Ms),
      row.rssMiB.map((m) => m.toFixed(0)).join(' + '),
    ]),
  ],
);
const best = Math.max(...rows.map((row) => row.verify.perSecond));
console.log(
  `\nTarget: HTTP /verify ≥ ${TARGET} × the in-process check rate: best ${ratio(best)} (${best / check.perSecond >= TARGET ? 'met' : 'not met'}).`,
);
console.log(
  'The empty route is GET /supported on the same processes: what HTTP alone allows on this machine, so\n' +
    "verify ÷ empty is the share of that ceiling verification keeps. The engine row's RSS is this whole process\n" +
    '(devnet, load generator and engine).',
);
