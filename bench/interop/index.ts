/**
 * bench/interop: our stack next to Coinbase's stock SDK with our scheme and next to the incumbent `x402-stacks@2`, on
 * one devnet (mining on every broadcast) and one facilitator service, over HTTP on 127.0.0.1.
 *
 * 1. Sellers: our `paymentMiddleware`, stock `@x402/express` with `ExactStacksScheme`, and the incumbent's
 *    `paymentMiddleware`, all on Express 5 and all unsponsored STX (the incumbent cannot sponsor).
 *    - Unpaid 402s per second: short rounds rotating between the three, the median round counting.
 *    - Paid end to end: pre-signed payments (a fresh nonce each), sent through each middleware to the facilitator,
 *      broadcast and confirmed; requests per second and p50 / p99 latency.
 * 2. Buyers, all paying our `paymentMiddleware` through the same facilitator: our `wrapFetchWithPayment`, stock
 *    `@x402/fetch` with `ExactStacksScheme`, and the incumbent's `wrapAxiosWithPayment` (which reads its fee and
 *    nonce from Hiro's public API: `*.hiro.so` is routed to the devnet, in this process only).
 *    - Paid end to end, one request at a time: p50 / p99.
 *    - Payment creation: a local seller answers a fixed 402 and times until the paid retry arrives (reading the 402,
 *      the chain reads for nonce, fee and balance, signing, encoding); that seller serves the retry without settling.
 * Everything shares this process (one event loop): the figures compare with each other, not with a deployment.
 *
 * Usage: tsx bench/interop/index.ts [--seconds 1 --rounds 5 --concurrency 8 --payers 16 --paid 64 --client-paid 24
 *        --creations 40 --paid-rounds 2]
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
import { paymentMiddleware as stockPaymentMiddleware } from '@x402/express';
import { wrapFetchWithPayment as stockWrapFetch, x402Client } from '@x402/fetch';
import { startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import axios from 'axios';
import express, { type RequestHandler } from 'express';
import {
  createFacilitator,
  generateKeypair,
  type PaymentRequired,
  type StacksAccount,
} from 'x402-stacks';
import { paymentMiddleware } from 'x402-stacks/express';
import { wrapFetchWithPayment } from 'x402-stacks/fetch';
import {
  decodePaymentRequiredHeader,
  encodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
} from 'x402-stacks/protocol';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import {
  ExactStacksScheme,
  registerExactStacksScheme,
  stacksSpendControls,
} from 'x402-stacks/x402';
import * as incumbent from 'x402-stacks-v2';
import {
  flag,
  formatRate,
  keepAliveClient,
  type LoadResult,
  load,
  peakRssMiB,
  printTable,
} from '../lib.js';

const seconds = Number(flag('seconds', '1'));
const rounds = Number(flag('rounds', '5'));
const concurrency = Number(flag('concurrency', '8'));
const payerCount = Number(flag('payers', '16'));
const paidCount = Number(flag('paid', '64'));
const clientPaid = Number(flag('client-paid', '24'));
const creations = Number(flag('creations', '40'));
const paidRounds = Number(flag('paid-rounds', '2'));
if (
  ![seconds, rounds, concurrency, payerCount, paidCount, clientPaid, creations, paidRounds].every(
    (n) => n > 0,
  )
) {
  throw new Error('every option must be above zero');
}
if (concurrency > payerCount)
  throw new Error('--concurrency must not exceed --payers (one payment in flight per payer)');
// Each bounded: nothing here may run for more than this, whatever the options.
const MAX_ROW_SECONDS = 120;
const PRICE = '1000';

const devnet = await startDevnet({ port: 0, accounts: payerCount + 1 });
const seller = devnet.accounts[0]!.address;
const payers = devnet.accounts.slice(1).map((a) => a.account);
const engine = createFacilitator({
  networks: { testnet: { url: devnet.url } },
  pollIntervalMs: 20,
});
const facilitatorUrl = await listen(
  serve({
    fetch: createFacilitatorApp({ facilitator: engine }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  }) as Server,
);

// The incumbent client reads fee and nonce from Hiro; in this process, Hiro is the devnet.
const realFetch = globalThis.fetch;
globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  const isRequest = typeof input === 'object' && !(input instanceof URL);
  const url = new URL(isRequest ? input.url : String(input));
  if (!url.hostname.endsWith('.hiro.so')) return realFetch(input, init);
  return realFetch(`${devnet.url}${url.pathname}${url.search}`, isRequest ? input : init);
}) as typeof fetch;

async function listen(server: Server): Promise<string> {
  // Longer than any pause between rows: a server closing an idle keep-alive socket as it is reused resets a request.
  server.keepAliveTimeout = 120_000;
  if (!server.listening) await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// --- 1. Sellers ----------------------------------------------------------------------------------------------

const stockServer = registerExactStacksScheme(
  new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitatorUrl })),
  {
    sponsored: false,
  },
);
await stockServer.initialize();

const sellers: { label: string; middleware: RequestHandler }[] = [
  {
    label: 'our paymentMiddleware',
    middleware: paymentMiddleware({
      amount: PRICE,
      payTo: seller,
      network: 'testnet',
      facilitatorUrl,
      sponsored: false,
    }),
  },
  {
    label: 'stock @x402/express + ExactStacksScheme',
    middleware: stockPaymentMiddleware(
      {
        'GET /paid': {
          accepts: {
            scheme: 'exact',
            network: 'stacks:2147483648',
            payTo: seller,
            price: { asset: 'STX', amount: PRICE },
          },
        },
      },
      stockServer,
      undefined,
      undefined,
      false,
    ) as RequestHandler,
  },
  {
    label: 'incumbent x402-stacks@2 paymentMiddleware',
    middleware: incumbent.paymentMiddleware({
      amount: PRICE,
      payTo: seller,
      network: 'stacks:2147483648',
      asset: 'STX',
      facilitatorUrl,
    }) as unknown as RequestHandler,
  },
];

const http = keepAliveClient(concurrency);
const bases: string[] = [];
for (const { middleware } of sellers) {
  const app = express();
  app.get('/paid', middleware, (_req, res) => {
    res.json({ data: 'premium' });
  });
  bases.push(await listen(app.listen(0, '127.0.0.1')));
}

const median = (values: number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const unpaid: LoadResult[][] = sellers.map(() => []);
for (const base of bases)
  await load({ concurrency, seconds: 0.5, request: () => http.get(`${base}/paid`) });
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < sellers.length; k++) {
    const index = (round + k) % sellers.length;
    const result = await load({
      concurrency,
      seconds,
      request: async () => {
        const { status } = await http.get(`${bases[index]}/paid`);
        if (status !== 402) throw new Error(`${sellers[index]!.label} answered ${status}, not 402`);
      },
    });
    unpaid[index]!.push(result);
  }
  process.stderr.write(
    `  unpaid round ${round + 1}: ${unpaid.map((r) => formatRate(r.at(-1)!.perSecond)).join(' / ')}\n`,
  );
}
const unpaidMedian = unpaid.map((results) => {
  const rate = median(results.map((r) => r.perSecond));
  return results.find((r) => r.perSecond === rate)!;
});

// Paid: each payer's nonces continue from row to row; payment i goes to payer i mod P, so the requests in flight
// (fewer than P) always come from different payers.
const nextNonce = payers.map(() => 0n);
async function signedHeaders(base: string, count: number): Promise<string[]> {
  const challenge = decodePaymentRequiredHeader(
    (await fetch(`${base}/paid`)).headers.get('payment-required')!,
  );
  const accepted = challenge.accepts[0]!;
  const firsts = [...nextNonce];
  for (let p = 0; p < payers.length; p++)
    nextNonce[p]! += BigInt(Math.ceil((count - p) / payers.length));
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const p = i % payers.length;
      const nonce = firsts[p]! + BigInt(Math.floor(i / payers.length));
      const { transaction } = await createPaymentTransaction({
        account: payers[p]!,
        requirements: accepted,
        nonce,
        fee: 300n,
      });
      return encodePaymentSignatureHeader({
        x402Version: 2,
        resource: challenge.resource,
        accepted,
        payload: { transaction },
      });
    }),
  );
}
async function paidRow(index: number): Promise<LoadResult> {
  const base = bases[index]!;
  const headers = await signedHeaders(base, paidCount);
  const result = await load({
    concurrency,
    seconds: MAX_ROW_SECONDS,
    total: paidCount,
    request: async (i) => {
      const { status, text } = await http.get(`${base}/paid`, { 'payment-signature': headers[i]! });
      if (status !== 200)
        throw new Error(
          `${sellers[index]!.label}: a paid request answered ${status}: ${text.slice(0, 200)}`,
        );
    },
  });
  await engine.idle();
  return result;
}
// Rounds rotating between the sellers, as for the unpaid rows; each seller's best round (by rate) counts.
const paid: LoadResult[] = [];
for (let round = 0; round < paidRounds; round++) {
  for (let k = 0; k < sellers.length; k++) {
    const index = (round + k) % sellers.length;
    const result = await paidRow(index);
    process.stderr.write(
      `  paid round ${round + 1}, ${sellers[index]!.label}: ${formatRate(result.perSecond)}/s\n`,
    );
    if (!paid[index] || result.perSecond > paid[index]!.perSecond) paid[index] = result;
  }
}

// --- 2. Buyers -------------------------------------------------------------------------------------------------

type Buyer = { label: string; create(account: StacksAccount): (url: string) => Promise<number> };
const buyers: Buyer[] = [
  {
    label: 'our wrapFetchWithPayment',
    create: (account) => {
      const pay = wrapFetchWithPayment(fetch, account, { apiUrl: devnet.url });
      return async (url) => (await pay(url)).status;
    },
  },
  {
    label: 'stock @x402/fetch + ExactStacksScheme',
    create: (account) => {
      const client = x402Client.fromConfig({
        schemes: [
          { network: 'stacks:*', client: new ExactStacksScheme({ account, apiUrl: devnet.url }) },
        ],
        spendControls: stacksSpendControls({ networks: ['testnet'] }),
      });
      const pay = stockWrapFetch(fetch, client);
      return async (url) => (await pay(url)).status;
    },
  },
  {
    label: 'incumbent x402-stacks@2 wrapAxiosWithPayment',
    create: (account) => {
      // Its interceptor acts on axios' 402 error, so statuses must stay errors (no validateStatus).
      const api = incumbent.wrapAxiosWithPayment(
        axios.create() as never,
        incumbent.privateKeyToAccount(account.privateKey, 'testnet'),
      );
      return async (url) => {
        try {
          return (await api.get(url)).status;
        } catch (error) {
          return axios.isAxiosError(error) ? (error.response?.status ?? 0) : 0;
        }
      };
    },
  },
];
const funded = () => {
  const account = generateKeypair('testnet');
  devnet.chain.fund(account.address, { stx: 1_000_000_000n });
  return account;
};

/** p50 and p99 of some latencies, ms. */
function percentiles(latencies: number[]): { p50: number; p99: number } {
  const sorted = [...latencies].sort((x, y) => x - y);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * Runs `count` rounds in which every buyer makes one call, in an order that rotates each round, so that no buyer
 * always runs first or on a quieter machine; `timed(index, call)` returns one call's latency.
 */
async function interleaved(
  count: number,
  timed: (index: number) => Promise<number | undefined>,
): Promise<{ p50: number; p99: number }[]> {
  const latencies = buyers.map((): number[] => []);
  const deadline = performance.now() + MAX_ROW_SECONDS * 1000;
  for (let round = 0; round < count && performance.now() < deadline; round++) {
    for (let k = 0; k < buyers.length; k++) {
      const index = (round + k) % buyers.length;
      const latency = await timed(index);
      if (latency !== undefined) latencies[index]!.push(latency);
    }
  }
  return latencies.map(percentiles);
}

const paying = buyers.map((buyer) => buyer.create(funded()));
for (const pay of paying) await pay(`${bases[0]}/paid`); // warm-up: first chain reads, JIT
const clientRows = await interleaved(clientPaid, async (index) => {
  const began = performance.now();
  const status = await paying[index]!(`${bases[0]}/paid`);
  if (status !== 200) throw new Error(`${buyers[index]!.label}: answered ${status}`);
  return performance.now() - began;
});
await engine.idle();

// Payment creation: the time from this seller's 402 to the paid retry, which is served without settling.
let sentAt = 0;
const createdMs: number[] = [];
const timingUrl = await listen(
  createServer((request, response) => {
    if (request.headers['payment-signature']) {
      createdMs.push(performance.now() - sentAt);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const challenge: PaymentRequired = {
      x402Version: 2,
      resource: { url: `${timingUrl}/paid` },
      accepts: [
        {
          scheme: 'exact',
          network: 'stacks:2147483648',
          asset: 'STX',
          amount: PRICE,
          payTo: seller,
          maxTimeoutSeconds: 60,
        },
      ],
    };
    const header = encodePaymentRequiredHeader(challenge);
    response.writeHead(402, { 'content-type': 'application/json', 'payment-required': header });
    response.end(JSON.stringify(challenge), () => {
      sentAt = performance.now();
    });
  }).listen(0, '127.0.0.1'),
);
// Other accounts than the paid rows': the timing seller's retries are served, and a payer then counts the nonce used.
const creating = buyers.map((buyer) => buyer.create(funded()));
for (const pay of creating) await pay(`${timingUrl}/paid`);
const creation = await interleaved(creations, async (index) => {
  const before = createdMs.length;
  await creating[index]!(`${timingUrl}/paid`);
  return createdMs.length > before ? createdMs.at(-1) : undefined;
});

// --- Report ----------------------------------------------------------------------------------------------------

console.log(
  `\nbench/interop: sellers (${concurrency} keep-alive connections; unpaid: median of ${rounds} rotating rounds of ${seconds} s; paid: best of ${paidRounds} rotating rounds of ${paidCount} pre-signed STX payments from ${payers.length} payers)\n`,
);
printTable(
  [
    'seller',
    'unpaid 402 req/s',
    '÷ ours',
    'paid req/s',
    'paid p50 ms',
    'paid p99 ms',
    'p50 ÷ ours',
  ],
  sellers.map(({ label }, i) => [
    label,
    formatRate(unpaidMedian[i]!.perSecond),
    (unpaidMedian[i]!.perSecond / unpaidMedian[0]!.perSecond).toFixed(2),
    formatRate(paid[i]!.perSecond),
    paid[i]!.p50Ms.toFixed(1),
    paid[i]!.p99Ms.toFixed(1),
    (paid[i]!.p50Ms / paid[0]!.p50Ms).toFixed(2),
  ]),
);
console.log(
  `\nbuyers against our paymentMiddleware (rounds rotating between the buyers, one request at a time; paid: ${clientPaid} payments each, each confirmed; creation: ${creations} 402s each from a seller that does not settle)\n`,
);
printTable(
  [
    'buyer',
    'paid p50 ms',
    'paid p99 ms',
    'p50 ÷ ours',
    'creation p50 ms',
    'creation p99 ms',
    'creation p50 ÷ ours',
  ],
  buyers.map(({ label }, i) => [
    label,
    clientRows[i]!.p50.toFixed(1),
    clientRows[i]!.p99.toFixed(1),
    (clientRows[i]!.p50 / clientRows[0]!.p50).toFixed(2),
    creation[i]!.p50.toFixed(2),
    creation[i]!.p99.toFixed(2),
    (creation[i]!.p50 / creation[0]!.p50).toFixed(2),
  ]),
);
console.log(`\npeak RSS: ${peakRssMiB().toFixed(1)} MiB`);

globalThis.fetch = realFetch;
await engine.idle();
await devnet.stop();
process.exit(0);
