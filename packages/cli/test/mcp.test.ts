/**
 * `x402-stacks mcp` through the real bin, driven by the MCP SDK's client over stdio and over streamable HTTP, against
 * the demo's parts on 127.0.0.1: a devnet, the facilitator service, the documentation's example seller and a local
 * x402scan registry listing it. The agent lists the tools, discovers the seller, pays it with `fetch_paid`, and reads
 * the balance drop, the budget and the payment's status; the key appears in no answer and no output.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  type FacilitatorService,
  loadConfig as loadFacilitatorConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import {
  loadConfig as loadRegistryConfig,
  type RegistryService,
  startRegistryService,
} from '@x402-stacks/registry';
import { generateKeypair, type StacksAccount } from 'x402-stacks';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/x402-stacks.js');

let devnet: Devnet;
let facilitator: FacilitatorService;
let registry: RegistryService;
let seller: ChildProcess;
let sellerUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'x402-cli-mcp-'));
const clients: Client[] = [];
const children: ChildProcess[] = [];

before(async () => {
  devnet = await startDevnet({ port: 0 });
  facilitator = await startFacilitatorService(
    loadFacilitatorConfig({
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(dir, 'facilitator.db')}`,
      LOG_LEVEL: 'silent',
    }),
  );
  const port = await freePort();
  sellerUrl = `http://127.0.0.1:${port}`;
  seller = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/seller/server.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
      NETWORK: 'testnet',
      SERVER_ADDRESS: devnet.accounts[1]!.address,
      PORT: String(port),
      FACILITATOR_URL: facilitator.url,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitFor(seller, /Server running on port/);
  registry = await startRegistryService(
    loadRegistryConfig({
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'registry.db')}`,
      ALLOW_INSECURE_LOCAL: 'true',
      LOG_LEVEL: 'silent',
    }),
  );
  const registered = await registry.registry.register({ url: `${sellerUrl}/api/weather` });
  assert.ok(registered.valid, registered.error);
});

after(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  for (const child of children) child.kill('SIGTERM');
  seller.kill('SIGTERM');
  await registry.stop();
  await facilitator.stop();
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
});

function buyer(): { account: StacksAccount; keyFile: string } {
  const account = generateKeypair('testnet');
  devnet.chain.fund(account.address, { stx: 10_000_000n });
  const keyFile = join(dir, `key-${account.address}`);
  writeFileSync(keyFile, `${account.privateKey}\n`, { mode: 0o600 });
  return { account, keyFile };
}

function mcpArgs(keyFile: string, extra: string[] = []): string[] {
  return [
    BIN,
    'mcp',
    '--key-file',
    keyFile,
    '--api-url',
    devnet.url,
    '--registry-url',
    registry.url,
    ...extra,
  ];
}

async function stdioClient(keyFile: string, extra: string[] = []): Promise<Client> {
  const client = new Client({ name: 'cli-mcp-test', version: '1.0.0' });
  const { STACKS_PRIVATE_KEY: _dropped, ...env } = process.env as Record<string, string>;
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: mcpArgs(keyFile, extra),
      env,
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return client;
}

async function httpClient(keyFile: string, extra: string[] = []): Promise<Client> {
  const child = spawn(
    process.execPath,
    mcpArgs(keyFile, ['--transport', 'http', '--port', '0', ...extra]),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const line = await waitFor(child, /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 'stderr');
  const client = new Client({ name: 'cli-mcp-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(line[1]!)));
  clients.push(client);
  return client;
}

async function callJson(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  // biome-ignore lint/suspicious/noExplicitAny: a tool's JSON answer, read field by field by the assertions
  return { result, value: result.structuredContent as Record<string, any> };
}

for (const transport of ['stdio', 'http'] as const) {
  test(`over ${transport}: list, discover the demo seller, pay it with fetch_paid, read the balance drop`, {
    timeout: 120_000,
  }, async () => {
    const { account, keyFile } = buyer();
    const client = transport === 'stdio' ? await stdioClient(keyFile) : await httpClient(keyFile);
    const seen: string[] = [];
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const answer = await callJson(client, name, args);
      seen.push(JSON.stringify(answer.result));
      return answer;
    };

    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), [
      'balance',
      'budget',
      'discover',
      'fetch_paid',
      'payment_status',
    ]);
    for (const tool of tools) {
      assert.ok((tool.description ?? '').length > 80, `${tool.name} says what it does`);
      assert.equal(tool.inputSchema.type, 'object');
    }

    const found = await call('discover', { query: 'weather', asset: 'STX', max_price: '0.01' });
    assert.equal(found.result.isError, undefined, JSON.stringify(found.value));
    const listing = found.value.items.find((item: { url: string }) =>
      item.url.startsWith(sellerUrl),
    );
    assert.ok(listing, 'the demo seller is listed');
    assert.equal(listing.accepts[0].amount, '1000');

    const before = await call('balance');
    assert.equal(before.value.address, account.address);
    const stxBefore = BigInt(before.value.balances.STX.atomic);

    const paid = await call('fetch_paid', { url: `${listing.url}?city=Porto` });
    assert.equal(paid.result.isError, undefined, JSON.stringify(paid.value));
    assert.equal(paid.value.status, 200);
    assert.equal(JSON.parse(paid.value.body).city, 'Porto');
    assert.equal(paid.value.payment.amount, '1000');
    assert.equal(paid.value.payment.price, '0.001 STX');

    const afterPay = await call('balance');
    const fee = BigInt(paid.value.payment.fee);
    assert.equal(BigInt(afterPay.value.balances.STX.atomic), stxBefore - 1000n - fee);

    const budget = await call('budget');
    assert.equal(budget.value.assets.STX.spent.atomic, '1000');
    assert.equal(budget.value.assets.STX.left.atomic, String(1_000_000n - 1000n));

    const status = await call('payment_status', { txid: paid.value.payment.txid });
    assert.ok(['success', 'pending'].includes(status.value.status), status.value.status);
    assert.equal(status.value.payment.amount, '1000');
    const all = await call('payment_status');
    assert.equal(all.value.payments.length, 1);

    for (const text of seen)
      assert.ok(!text.includes(account.privateKey), 'the key is in no answer');
  });
}

test('two fetch_paid at once each pay once and report their own payment', {
  timeout: 60_000,
}, async () => {
  const { keyFile } = buyer();
  const client = await httpClient(keyFile);
  const [first, second] = await Promise.all(
    ['Faro', 'Braga'].map((city) =>
      callJson(client, 'fetch_paid', { url: `${sellerUrl}/api/weather?city=${city}` }),
    ),
  );
  assert.equal(JSON.parse(first!.value.body).city, 'Faro');
  assert.equal(JSON.parse(second!.value.body).city, 'Braga');
  assert.notEqual(first!.value.payment.txid, second!.value.payment.txid);
  const budget = await callJson(client, 'budget');
  assert.equal(budget.value.assets.STX.spent.atomic, '2000');
});

test('over budget: fetch_paid is refused with payment_over_budget and nothing is paid', {
  timeout: 60_000,
}, async () => {
  const { account, keyFile } = buyer();
  const client = await httpClient(keyFile, ['--budget', '0.0005 STX']);
  const stxBefore = devnet.chain.state.stx(account.address);
  const refused = await callJson(client, 'fetch_paid', { url: `${sellerUrl}/api/weather` });
  assert.equal(refused.result.isError, true);
  assert.equal(refused.value.error, 'payment_over_budget');
  assert.equal(devnet.chain.state.stx(account.address), stxBefore);
  const budget = await callJson(client, 'budget');
  assert.equal(budget.value.assets.STX.spent.atomic, '0');
});

test('HTTP: a token is required when set, and a foreign Host is refused (DNS rebinding)', {
  timeout: 60_000,
}, async () => {
  const { keyFile } = buyer();
  const child = spawn(process.execPath, mcpArgs(keyFile, ['--transport', 'http', '--port', '0']), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, X402_MCP_HTTP_TOKEN: 'hunter2-token' },
  });
  children.push(child);
  const url = (await waitFor(child, /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 'stderr'))[1]!;
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 't', version: '1' },
    },
  };
  const post = (headers: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(initialize),
    });
  assert.equal((await post({})).status, 401);
  assert.equal((await post({ authorization: 'Bearer wrong' })).status, 401);
  // fetch will not send another Host: a raw request does, as a rebound DNS name would.
  const rebound = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'POST',
      headers: {
        host: 'evil.example',
        authorization: 'Bearer hunter2-token',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
    });
    request.once('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', reject);
    request.end(JSON.stringify(initialize));
  });
  assert.equal(rebound, 403);
  const client = new Client({ name: 'cli-mcp-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: 'Bearer hunter2-token' } },
    }),
  );
  clients.push(client);
  assert.equal((await client.listTools()).tools.length, 5);
});

test('bad input gets a named refusal: a non-http URL, a payment header, a txid', {
  timeout: 60_000,
}, async () => {
  const { keyFile } = buyer();
  const client = await stdioClient(keyFile);
  const url = await callJson(client, 'fetch_paid', { url: 'file:///etc/passwd' });
  assert.equal(url.value.error, 'invalid_url');
  const header = await callJson(client, 'fetch_paid', {
    url: `${sellerUrl}/api/weather`,
    headers: { 'Payment-Signature': 'x' },
  });
  assert.equal(header.value.error, 'forbidden_header');
  const txid = (await client.callTool({
    name: 'payment_status',
    arguments: { txid: 'nope' },
  })) as CallToolResult;
  assert.equal(txid.isError, true);
});

test('stdio: the host closing stdin ends the server, exit 0', { timeout: 60_000 }, async () => {
  const { keyFile } = buyer();
  const ended = await run(mcpArgs(keyFile));
  assert.equal(ended.code, 0, ended.out);
  assert.match(ended.out, /over stdio/);
});

test('a non-loopback host, or no key, is a usage error (exit 2) that names no key', {
  timeout: 60_000,
}, async () => {
  const { account, keyFile } = buyer();
  const host = await run(mcpArgs(keyFile, ['--transport', 'http', '--host', '0.0.0.0']));
  assert.equal(host.code, 2);
  assert.match(host.out, /loopback/);
  const noKey = await run([BIN, 'mcp'], { STACKS_PRIVATE_KEY: '' });
  assert.equal(noKey.code, 2);
  assert.match(noKey.out, /no key/);
  assert.ok(!host.out.includes(account.privateKey));
});

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function waitFor(
  child: ChildProcess,
  pattern: RegExp,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    child[stream]!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match) resolve(match);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
  });
}
