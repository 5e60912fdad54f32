/**
 * bench/mcp: the cost of x402 on MCP tool calls, measured against baselines in the same run, through the real MCP SDK
 * on both sides over its in-memory transport (so the figures are the SDK's and ours, not a socket's).
 * 1. A free tool called through the paying client (`wrapMcpClientWithPayment`) against the same tool called with the
 *    SDK's client alone, in alternating rounds; the ratio (wrapped ÷ bare, median of the per-round ratios) has a
 *    target of ≥ 0.9.
 * 2. On the same server, one after another: a free tool, the unpaid call of a paid tool (its payment-required
 *    result), and the paid call end to end (challenge, sign, retry, settle through the facilitator service over HTTP,
 *    the devnet mining a block on each broadcast). The paid call's overhead is its latency over the unpaid one's.
 * Everything shares this process and one event loop: the figures compare with each other, not with a deployment.
 *
 * The free and unpaid latencies are the median of `rounds` alternating rounds of 200 calls each.
 *
 * Usage: tsx bench/mcp/index.ts [--seconds 1 --rounds 5 --paid-calls 32 --payers 8]
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import { createFacilitator } from 'x402-stacks';
import { registerPaidTool, wrapMcpClientWithPayment } from 'x402-stacks/mcp';
import { z } from 'zod';
import { flag, formatRate, measure, peakRssMiB, printTable } from '../lib.js';

const seconds = Number(flag('seconds', '1'));
const rounds = Number(flag('rounds', '5'));
const paidCalls = Number(flag('paid-calls', '32'));
const payerCount = Number(flag('payers', '8'));
const TARGET = 0.9;
if (!(seconds > 0) || !(rounds >= 1) || !(paidCalls >= 1) || !(payerCount >= 1)) {
  throw new Error('--seconds > 0, --rounds ≥ 1, --paid-calls ≥ 1, --payers ≥ 1');
}

const devnet = await startDevnet({ port: 0, accounts: payerCount + 1 });
const seller = devnet.accounts[0]!.address;
const engine = createFacilitator({
  networks: { testnet: { url: devnet.url } },
  pollIntervalMs: 20,
});
const facilitatorServer = serve({
  fetch: createFacilitatorApp({ facilitator: engine }).fetch,
  port: 0,
  hostname: '127.0.0.1',
}) as Server;
await once(facilitatorServer, 'listening');
const facilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;

const server = new McpServer({ name: 'bench', version: '1.0.0' });
const input = { text: z.string() };
const echo = ({ text }: { text: string }) => ({ content: [{ type: 'text' as const, text }] });
server.registerTool('free', { inputSchema: input }, echo);
registerPaidTool(
  server,
  'paid',
  { inputSchema: input },
  { amount: '1000', payTo: seller, network: 'testnet', facilitatorUrl, sponsored: false },
  echo,
);
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
await server.connect(serverSide);
const client = new Client({ name: 'bench', version: '1.0.0' });
await client.connect(clientSide);
const payers = devnet.accounts
  .slice(1)
  .map((entry) => wrapMcpClientWithPayment(client, entry.account, { apiUrl: devnet.url }));
const call = { name: 'free', arguments: { text: 'hello' } };

// 1. The free tool with and without the paying client, in alternating rounds.
const bare: number[] = [];
const wrapped: number[] = [];
for (let round = 0; round < rounds; round++) {
  bare.push((await measure('free, SDK client', () => client.callTool(call), seconds)).opsPerSecond);
  wrapped.push(
    (await measure('free, paying client', () => payers[0]!.callTool(call), seconds)).opsPerSecond,
  );
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ratio = median(wrapped.map((rate, round) => rate / bare[round]!));

// 2. Latency on the same server: free, unpaid paid-tool call, paid call.
async function meanMs(count: number, fn: (index: number) => Promise<unknown>): Promise<number> {
  await fn(0);
  const start = performance.now();
  for (let index = 1; index <= count; index++) await fn(index);
  return (performance.now() - start) / count;
}
// The free and the unpaid call alternate in rounds of 200, and the median round counts, as drift mostly cancels.
const freeRounds: number[] = [];
const unpaidRounds: number[] = [];
for (let round = 0; round < rounds; round++) {
  freeRounds.push(await meanMs(200, () => client.callTool(call)));
  unpaidRounds.push(
    await meanMs(200, () => client.callTool({ name: 'paid', arguments: { text: 'hello' } })),
  );
}
const freeMs = median(freeRounds);
const unpaidMs = median(unpaidRounds);
const paidMs = await meanMs(paidCalls, async (index) => {
  const result = await payers[index % payers.length]!.callTool({
    name: 'paid',
    arguments: { text: 'hello' },
  });
  if (result.isError) throw new Error(`a paid call failed: ${JSON.stringify(result.content)}`);
});

printTable(
  ['row', 'figure', 'baseline (same run)', 'ratio'],
  [
    [
      'free tool, calls/s',
      `${formatRate(median(wrapped))} (paying client)`,
      `${formatRate(median(bare))} (SDK client)`,
      `${ratio.toFixed(2)} (target ≥ ${TARGET}) ${ratio >= TARGET ? 'ok' : 'BELOW'}`,
    ],
    [
      'unpaid call of a paid tool, ms',
      unpaidMs.toFixed(3),
      `${freeMs.toFixed(3)} (free tool)`,
      (unpaidMs / freeMs).toFixed(2),
    ],
    [
      'paid call end to end, ms',
      paidMs.toFixed(2),
      `${unpaidMs.toFixed(3)} (unpaid call)`,
      `+${(paidMs - unpaidMs).toFixed(2)} ms overhead`,
    ],
  ],
);
console.log(
  `\npeak RSS ${peakRssMiB().toFixed(0)} MiB; ${rounds} rounds of ${seconds} s; ${paidCalls} paid calls from ${payers.length} payers`,
);

await client.close();
await server.close();
await new Promise<void>((resolve) => facilitatorServer.close(() => resolve()));
await engine.idle();
await devnet.stop();
