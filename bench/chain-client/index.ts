/**
 * bench/chain-client: the chain client's own CPU per request, against a bare `http.request` on a keep-alive agent
 * sending the same bytes to the same server (the least any node HTTP client spends), measured in the same run.
 *
 * The request is a broadcast: the facilitator makes one per settlement, and its reads go through the same code. The
 * node answering it is a stub in a process of its own (node-stub.ts), so this process's CPU (`process.cpuUsage`) is
 * the client's alone. Rows:
 * - the baseline: `http.request` with options, the body, and the answer read as text;
 * - `broadcast` of the chain client over its default transport (node's `http`): the request built, sent under a
 *   timeout, the answer checked and its txid normalized;
 * - the same over `fetch`, the transport that node's `http` replaced, given as the `fetch` option.
 * Each round runs `--requests` requests of every row at `--concurrency`, the rows rotated between rounds; the table
 * gives each row's median over `--rounds` rounds and its ratio to the baseline's CPU per request.
 *
 * Usage: npm run bench:chain-client [-- --requests 5000 --concurrency 8 --rounds 7]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { genesisAccounts } from '@x402-stacks/devnet';
import { createChainClient } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { flag, formatRate, peakRssMiB, printTable } from '../lib.js';

if (process.argv.includes('--help')) {
  process.stderr.write(
    'usage: npm run bench:chain-client [-- --requests 5000 --concurrency 8 --rounds 7]\n',
  );
  process.exit(0);
}
const requests = Number(flag('requests', '5000'));
const concurrency = Number(flag('concurrency', '8'));
const rounds = Number(flag('rounds', '7'));
if (
  !(Number.isInteger(requests) && requests >= 100) ||
  !(Number.isInteger(concurrency) && concurrency >= 1) ||
  !(Number.isInteger(rounds) && rounds >= 1)
)
  throw new Error('--requests ≥ 100, --concurrency ≥ 1, --rounds ≥ 1 (whole numbers)');

const stub = fork(fileURLToPath(new URL('./node-stub.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const [{ url }] = (await Promise.race([
  once(stub, 'message'),
  once(stub, 'exit').then(([code, signal]) => {
    throw new Error(`the stub node exited (${code ?? signal}) before it listened`);
  }),
])) as [{ url: string }];
const { hostname, port } = new URL(url);

const [payer, seller] = genesisAccounts(2);
const { transaction } = await createPaymentTransaction({
  account: payer!.account,
  requirements: {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '1000',
    asset: 'STX',
    payTo: seller!.address,
    maxTimeoutSeconds: 300,
  },
  nonce: 0n,
  fee: 300n,
});
const bytes = Buffer.from(transaction.replace(/^0x/, ''), 'hex');

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const bare = () =>
  new Promise<string>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        hostname,
        port,
        path: '/v2/transactions',
        method: 'POST',
        agent,
        headers: {
          accept: 'application/json',
          'content-type': 'application/octet-stream',
          'content-length': String(bytes.length),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve(text));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(bytes);
  });
const overHttp = createChainClient({ network: 'testnet', url });
const overFetch = createChainClient({ network: 'testnet', url, fetch: globalThis.fetch });
const broadcastBy = (client: typeof overHttp) => async () => {
  const sent = await client.broadcast(transaction);
  if (!sent.accepted) throw new Error('the stub refused the broadcast');
};

const rows: { label: string; short: string; send: () => Promise<unknown> }[] = [
  { label: 'http.request, keep-alive (baseline)', short: 'http.request', send: bare },
  {
    label: 'chain client broadcast, node http',
    short: 'client on http',
    send: broadcastBy(overHttp),
  },
  {
    label: 'chain client broadcast, fetch',
    short: 'client on fetch',
    send: broadcastBy(overFetch),
  },
];

type Round = { cpuUs: number; perSecond: number };

async function round(send: () => Promise<unknown>): Promise<Round> {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) await send();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / requests, perSecond: requests / seconds };
}

const results = rows.map((): Round[] => []);
try {
  // Unmeasured: every row's code optimized before any is measured.
  for (const row of rows) await round(row.send);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < rows.length; k++) {
      const which = (r + k) % rows.length;
      results[which]!.push(await round(rows[which]!.send));
    }
    process.stderr.write(
      `  round ${r + 1}/${rounds}: ${rows.map((row, k) => `${row.short} ${results[k]!.at(-1)!.cpuUs.toFixed(1)} µs`).join(', ')}\n`,
    );
  }
} finally {
  stub.disconnect();
  agent.destroy();
}

const middle = (values: readonly number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const cpuOf = results.map((own) => middle(own.map((r) => r.cpuUs)));
console.log(
  `\nbench/chain-client: ${requests} broadcasts a row a round at concurrency ${concurrency}, ${rounds} rounds, ` +
    `to a stub node in its own process; CPU of this process per request (user + system), medians\n`,
);
printTable(
  ['client', 'CPU µs/request', '÷ baseline', 'requests/s'],
  rows.map((row, k) => [
    row.label,
    cpuOf[k]!.toFixed(1),
    (cpuOf[k]! / cpuOf[0]!).toFixed(2),
    formatRate(middle(results[k]!.map((r) => r.perSecond))),
  ]),
);
console.log(`\npeak RSS of this process: ${peakRssMiB().toFixed(0)} MiB`);
