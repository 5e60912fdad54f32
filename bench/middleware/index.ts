/**
 * bench/middleware: the cost of the payment middleware, measured against its baselines in the same run.
 * 1. Unpaid requests: the middleware's 402 against two bare Express routes on the same app (Express 5 and 4), over
 *    real HTTP on 127.0.0.1 with keep-alive connections: `res.json` of a small object (the target's denominator:
 *    middleware ÷ bare ≥ 0.9), and the middleware's own 402 bytes written by hand (the floor of sending that answer).
 *    The app runs in a process of its own (unpaid-seller.ts), so the load generator's work is not counted against
 *    the seller: its HTTP client parses every answer, and a 402 is longer than a bare answer.
 *    A second priced route declares every extension (signed offers, sign-in-with-x, payment-identifier), with the
 *    same target.
 *    Short rounds rotate between the routes; the table shows the median round of each and the median of the per-round
 *    ratios, so drift on a shared machine mostly cancels. A second table divides the requests of each round by the
 *    CPU time the seller's process spent in it: on a machine whose other work takes the cores away for part of a
 *    round, the rate per CPU-second still compares the routes' own costs. The requests per second are the seller's
 *    only while it, not the load generator, is the bottleneck; the rate per CPU-second is the seller's either way.
 * 2. Paid requests end to end: a fresh signed payment per request, through the middleware (before- and after-handler)
 *    to the facilitator service over HTTP, broadcast to the devnet, which mines a block on every broadcast; against
 *    `POST /settle` on the same facilitator alone with the same kind of payments.
 * For the paid rows, the load generator, the seller, the facilitator and the devnet share this process (one event
 * loop): the rates are comparable with each other, not with a multi-process deployment.
 *
 * Paid rows are warmed up once, then run in alternating rounds like the unpaid ones, each path's best round counting.
 *
 * Usage: tsx bench/middleware/index.ts [--seconds 1 --rounds 7 --concurrency 16 --settles 320 --payers 32
 *        --paid-rounds 2]; `--paid-rounds 0` measures the unpaid rows only (no signing, no paid table).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import express from 'express';
import { createFacilitator, type PaymentRequirements, type StacksAccount } from 'x402-stacks';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import {
  flag,
  formatRate,
  keepAliveClient,
  type LoadResult,
  load,
  peakRssMiB,
  printTable,
} from '../lib.js';
import { type SellerConfig, sellerApp } from './seller-app.js';

const seconds = Number(flag('seconds', '1'));
const rounds = Number(flag('rounds', '7'));
const paidRounds = Number(flag('paid-rounds', '2'));
const concurrency = Number(flag('concurrency', '16'));
const payerCount = Number(flag('payers', '32'));
// Whole rounds of payers: every payer's nonces are used up to the same point, so the next row starts with no gap.
const settles = Math.ceil(Number(flag('settles', '320')) / payerCount) * payerCount;
const TARGET = 0.9;
if (
  !(seconds > 0) ||
  !(rounds >= 1) ||
  !(paidRounds >= 0) ||
  !(concurrency >= 1) ||
  !(settles >= payerCount) ||
  !(payerCount >= 1)
)
  throw new Error(
    '--seconds > 0, --rounds ≥ 1, --paid-rounds ≥ 0, --concurrency ≥ 1, --payers ≥ 1, --settles ≥ --payers',
  );

const devnet = await startDevnet({ port: 0, accounts: payerCount + 1 });
const seller = devnet.accounts[0]!.address;
const payers = devnet.accounts.slice(1).map((a) => a.account);
const engine = createFacilitator({
  networks: { testnet: { url: devnet.url } },
  pollIntervalMs: 20,
});
const facilitatorUrl = await listen(createFacilitatorServer());

function createFacilitatorServer(): Server {
  const app = createFacilitatorApp({ facilitator: engine });
  return serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
}

async function listen(server: Server): Promise<string> {
  // Longer than any pause between rows (signing takes seconds): a server closing an idle keep-alive socket just as
  // the load generator reuses it would reset that request.
  server.keepAliveTimeout = 120_000;
  if (!server.listening) await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const http = keepAliveClient(concurrency);

// 1. Unpaid: a seller process per framework serves a bare route and the priced ones.
const config: SellerConfig = {
  payTo: seller,
  offerSigner: devnet.accounts[0]!.privateKey,
  facilitatorUrl,
};

type SellerProcess = { url: string; cpuSeconds(): Promise<number>; stop(): Promise<void> };

/** Forks `unpaid-seller.ts` for one Express version and waits until it listens. */
async function startSeller(version: '5' | '4'): Promise<SellerProcess> {
  const child = fork(fileURLToPath(new URL('./unpaid-seller.ts', import.meta.url)), [version], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SELLER_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  // The seller's next message, or an error naming the seller if it exits first: the bench never waits on a dead one.
  const nextMessage = async <T>(what: string): Promise<T> => {
    const [message] = (await Promise.race([
      once(child, 'message'),
      exited.then(([code, signal]) => {
        throw new Error(`the Express ${version} seller exited (${code ?? signal}) ${what}`);
      }),
    ])) as [T];
    return message;
  };
  const { url } = await nextMessage<{ url: string }>('before listening');
  return {
    url,
    async cpuSeconds() {
      child.send('cpu');
      const usage = await nextMessage<NodeJS.CpuUsage>('during a round');
      return (usage.user + usage.system) / 1e6;
    },
    async stop() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}

/** A round's result and its requests per CPU-second of the seller's process (user + system, every thread). */
type UnpaidResult = LoadResult & { readonly perCpuSecond: number };

async function unpaidRate(
  sellerProcess: SellerProcess,
  path: string,
  expected: number,
): Promise<UnpaidResult> {
  const url = `${sellerProcess.url}${path}`;
  const cpuBefore = await sellerProcess.cpuSeconds();
  const result = await load({
    concurrency,
    seconds,
    request: async () => {
      const { status } = await http.get(url);
      if (status !== expected) throw new Error(`${url} answered ${status}, not ${expected}`);
    },
  });
  const cpu = (await sellerProcess.cpuSeconds()) - cpuBefore;
  return { ...result, perCpuSecond: result.requests / cpu };
}

type RouteKey = 'bare' | 'handWritten' | 'middleware' | 'cacheable' | 'extensions';
type UnpaidRow = {
  framework: string;
  /** The median round of each route. */
  median: Record<RouteKey, LoadResult>;
  /** Medians of the per-round ratios: adjacent in time, so the machine's drift mostly cancels. */
  ratioToBare: number;
  ratioToHandWritten: number;
  /** The route with bazaar, offer-receipt and payment-identifier declared, ÷ bare. */
  cacheableToBare: number;
  /** The route with every extension declared, sign-in included, ÷ bare (the target: ≥ 0.9). */
  extensionsToBare: number;
  /** The same three ratios (and bare's median) in requests per CPU-second. */
  perCpu: { bare: number; middleware: number; cacheable: number; extensions: number };
};
const median = (values: number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const unpaidRows: UnpaidRow[] = [];
for (const version of ['5', '4'] as const) {
  const framework = `Express ${version}`;
  const sellerProcess = await startSeller(version);
  const base = sellerProcess.url;
  const routes: [RouteKey, string, number][] = [
    ['bare', '/bare', 200],
    ['handWritten', '/bare-402', 402],
    ['middleware', '/paid', 402],
    ['cacheable', '/paid-cacheable', 402],
    ['extensions', '/paid-extensions', 402],
  ];
  // Warm every route (JIT, connections) before anything counts.
  for (const [, path] of routes)
    await load({ concurrency, seconds: 0.5, request: () => http.get(`${base}${path}`) });
  const results: Record<RouteKey, UnpaidResult[]> = {
    bare: [],
    handWritten: [],
    middleware: [],
    cacheable: [],
    extensions: [],
  };
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    // The order rotates each round, so no route always runs first (or last) after the others.
    for (let k = 0; k < routes.length; k++) {
      const [key, path, status] = routes[(round + k) % routes.length]!;
      const result = await unpaidRate(sellerProcess, path, status);
      line.push(
        `${path} ${formatRate(result.perSecond)}/s (${formatRate(result.perCpuSecond)}/CPU-s)`,
      );
      results[key].push(result);
    }
    process.stderr.write(`  ${framework} round ${round + 1}: ${line.join(', ')}\n`);
  }
  const medianOf = (key: RouteKey) => {
    const rate = median(results[key].map((r) => r.perSecond));
    return results[key].find((r) => r.perSecond === rate)!;
  };
  const ratios = (to: RouteKey, of: RouteKey = 'middleware') =>
    median(results[of].map((r, round) => r.perSecond / results[to][round]!.perSecond));
  const cpuRatioToBare = (of: RouteKey) =>
    median(results[of].map((r, round) => r.perCpuSecond / results.bare[round]!.perCpuSecond));
  unpaidRows.push({
    framework,
    median: {
      bare: medianOf('bare'),
      handWritten: medianOf('handWritten'),
      middleware: medianOf('middleware'),
      cacheable: medianOf('cacheable'),
      extensions: medianOf('extensions'),
    },
    ratioToBare: ratios('bare'),
    ratioToHandWritten: ratios('handWritten'),
    cacheableToBare: ratios('bare', 'cacheable'),
    extensionsToBare: ratios('bare', 'extensions'),
    perCpu: {
      bare: median(results.bare.map((r) => r.perCpuSecond)),
      middleware: cpuRatioToBare('middleware'),
      cacheable: cpuRatioToBare('cacheable'),
      extensions: cpuRatioToBare('extensions'),
    },
  });
  await sellerProcess.stop();
}

// 2. Paid: fresh payments, each settled once.
const requirements: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: seller,
  maxTimeoutSeconds: 300,
};
const nextNonce = new Map<string, bigint>(payers.map((p) => [p.address, 0n]));

async function signPayment(payer: StacksAccount, nonce: bigint) {
  const { transaction } = await createPaymentTransaction({
    account: payer,
    requirements,
    nonce,
    fee: 300n,
  });
  return { x402Version: 2 as const, accepted: requirements, payload: { transaction } };
}

/** `count` payments (a multiple of the payers), payer-interleaved so concurrent requests come from different payers. */
async function freshPayments(count: number) {
  const perPayer = count / payers.length;
  const batches = await Promise.all(
    payers.map((payer) => {
      const first = nextNonce.get(payer.address)!;
      nextNonce.set(payer.address, first + BigInt(perPayer));
      return Promise.all(
        Array.from({ length: perPayer }, (_, k) => signPayment(payer, first + BigInt(k))),
      );
    }),
  );
  const ordered = [];
  for (let k = 0; k < perPayer; k++) for (const batch of batches) ordered.push(batch[k]!);
  return ordered;
}

const paidLoad = (total: number, request: (index: number) => Promise<unknown>) =>
  load({ concurrency: Math.min(concurrency, payers.length), seconds: 600, total, request });

const sellerServer = sellerApp(express, config).app.listen(0, '127.0.0.1');
const sellerUrl = await listen(sellerServer);

/** One paid request: `POST /settle` to the facilitator, or a GET through the middleware with the payment. */
type PaidPath = {
  label: string;
  send: (payment: Awaited<ReturnType<typeof signPayment>>) => Promise<void>;
};
const settleAlone: PaidPath = {
  label: 'facilitator POST /settle alone',
  async send(paymentPayload) {
    const body = JSON.stringify({
      x402Version: 2,
      paymentPayload,
      paymentRequirements: requirements,
    });
    const answer = JSON.parse((await http.post(`${facilitatorUrl}/settle`, body)).text) as {
      success: boolean;
      errorReason?: string;
    };
    if (!answer.success) throw new Error(`settle failed: ${answer.errorReason}`);
  },
};
const throughMiddleware = (label: string, path: string): PaidPath => ({
  label,
  async send(payment) {
    const headers = { 'payment-signature': encodePaymentSignatureHeader(payment) };
    const { status, text } = await http.get(`${sellerUrl}${path}`, headers);
    if (status !== 200)
      throw new Error(`${label}: a paid request answered ${status}: ${text.slice(0, 300)}`);
  },
});
const paidPaths = [
  settleAlone,
  throughMiddleware('Express 5, before-handler', '/paid'),
  throughMiddleware('Express 5, after-handler', '/paid-after'),
];

async function runPaid(path: PaidPath, count: number): Promise<LoadResult> {
  // Signed before the clock starts: the rate is the seller's and the facilitator's, not the buyer's.
  const payments = await freshPayments(count);
  const result = await paidLoad(count, (i) => path.send(payments[i]!));
  await engine.idle();
  return result;
}

// A warm-up of every path (JIT, connections, the chain's first blocks), then rounds alternating between the paths,
// each path's best round counting, as for the unpaid rows.
if (paidRounds > 0) for (const path of paidPaths) await runPaid(path, payers.length);
const bestPaid = new Map<PaidPath, LoadResult>();
for (let round = 0; round < paidRounds; round++) {
  for (const path of paidPaths) {
    const result = await runPaid(path, settles);
    process.stderr.write(
      `  paid round ${round + 1}, ${path.label}: ${formatRate(result.perSecond)}/s\n`,
    );
    const best = bestPaid.get(path);
    if (!best || result.perSecond > best.perSecond) bestPaid.set(path, result);
  }
}

console.log(
  `\nbench/middleware (${seconds} s × ${rounds} rounds per unpaid route, rotating order; medians of the rounds and of the per-round ratios; ${concurrency} keep-alive connections; the seller in its own process)\n`,
);
printTable(
  [
    'framework',
    'bare res.json req/s',
    'same 402 by hand req/s',
    'paymentMiddleware 402 req/s',
    '÷ bare',
    '÷ by hand',
    'p50 / p99 ms (middleware)',
    'bazaar + offers + id 402 req/s',
    '÷ bare',
    'every extension (+ sign-in) 402 req/s',
    '÷ bare',
  ],
  unpaidRows.map(
    ({
      framework,
      median: m,
      ratioToBare,
      ratioToHandWritten,
      cacheableToBare,
      extensionsToBare,
    }) => [
      framework,
      formatRate(m.bare.perSecond),
      formatRate(m.handWritten.perSecond),
      formatRate(m.middleware.perSecond),
      ratioToBare.toFixed(2),
      ratioToHandWritten.toFixed(2),
      `${m.middleware.p50Ms.toFixed(2)} / ${m.middleware.p99Ms.toFixed(2)}`,
      formatRate(m.cacheable.perSecond),
      cacheableToBare.toFixed(2),
      formatRate(m.extensions.perSecond),
      extensionsToBare.toFixed(2),
    ],
  ),
);
console.log(
  "\nthe same rounds per CPU-second of the seller's process (medians of the per-round ratios; robust to other work on the machine)\n",
);
printTable(
  [
    'framework',
    'bare req/CPU-s',
    'paymentMiddleware ÷ bare',
    'bazaar + offers + id ÷ bare',
    'every extension ÷ bare',
  ],
  unpaidRows.map(({ framework, perCpu }) => [
    framework,
    formatRate(perCpu.bare),
    perCpu.middleware.toFixed(2),
    perCpu.cacheable.toFixed(2),
    perCpu.extensions.toFixed(2),
  ]),
);
if (paidRounds > 0) {
  console.log(
    `\npaid, end to end (best of ${paidRounds} rounds of ${settles} fresh payments per path from ${payers.length} payers, ${Math.min(concurrency, payers.length)} in flight; devnet mines on every broadcast)\n`,
  );
  printTable(
    ['path', 'req/s', 'p50 ms', 'p99 ms', '÷ settle alone'],
    paidPaths.map((path) => {
      const result = bestPaid.get(path)!;
      return [
        path.label,
        formatRate(result.perSecond),
        result.p50Ms.toFixed(1),
        result.p99Ms.toFixed(1),
        (result.perSecond / bestPaid.get(settleAlone)!.perSecond).toFixed(2),
      ];
    }),
  );
}
const worst = Math.min(...unpaidRows.map((row) => row.ratioToBare));
const worstCacheable = Math.min(...unpaidRows.map((row) => row.cacheableToBare));
const worstExtensions = Math.min(...unpaidRows.map((row) => row.extensionsToBare));
const verdict = (ratio: number) => `${ratio.toFixed(2)} ${ratio >= TARGET ? 'met' : 'NOT met'}`;
console.log(
  `\ntarget: unpaid 402 ÷ bare ≥ ${TARGET}: ${verdict(worst)}; with bazaar, offer-receipt and payment-identifier: ${verdict(worstCacheable)}; with sign-in-with-x too: ${verdict(worstExtensions)}`,
);
console.log(`peak RSS: ${peakRssMiB().toFixed(1)} MiB`);

await new Promise<void>((resolve) => sellerServer.close(() => resolve()));
await engine.idle();
await devnet.stop();
process.exit(0);
