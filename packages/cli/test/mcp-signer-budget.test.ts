/**
 * `x402-stacks mcp` signing through `x402-stacks signer` and counting in a budget file, through the real bin, driven
 * by the MCP SDK's client, against the buyer test stack on 127.0.0.1 (a devnet, the facilitator service, a seller
 * that counts paid attempts). The mcp processes get neither the key nor a key file: the signer holds it. Two sessions
 * share one budget file: the second is refused over the file's budget with nothing signed, and a restart still sees
 * what was spent. No tool answer and no output holds the key.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { StacksAccount } from 'x402-stacks';
import { requirement, type Stack, startStack } from '../../../e2e/clients/client-stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/x402-stacks.js');
/** Only what a process needs to run: none of the test runner's environment (which may hold keys) leaks in. */
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

/** A running session: the client, and everything it or its process said, to search for the key. */
type Session = { client: Client; seen: string[]; pid: number | null; args: string[] };

describe('x402-stacks mcp with a signer socket and a budget file', () => {
  let stack: Stack;
  let buyer: StacksAccount;
  let signer: ChildProcess;
  const signerLines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'x402-mcp-signer-'));
  const socket = join(dir, 'run', 'signer.sock');
  const budgetFile = join(dir, 'budget.jsonl');
  const sessions: Session[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    stack = await startStack();
    stack.route('/paid', { accepts: [requirement({ payTo: stack.payTo })] });
    buyer = stack.buyer({ stx: 10_000_000n });
    const keyFile = join(dir, 'buyer.key');
    writeFileSync(keyFile, `${buyer.privateKey}\n`, { mode: 0o600 });
    // The one process that reads the key.
    signer = spawn(
      process.execPath,
      [BIN, 'signer', '--socket', socket, '--key-file', keyFile, '--allow-pay-to', stack.payTo],
      { env: BASE_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(signer);
    signer.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      signerLines.push(...chunk.split('\n').filter(Boolean));
    });
    await waitFor(signer, /Signing for/, 'stderr');
  });

  after(async () => {
    await Promise.all(sessions.map((session) => session.client.close().catch(() => undefined)));
    for (const child of children) child.kill('SIGTERM');
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function mcpEnv(extra: Record<string, string>): Record<string, string> {
    return { ...BASE_ENV, X402_SIGNER_SOCKET: socket, ...extra };
  }

  const mcpArgs = (extra: string[] = []) => [
    BIN,
    'mcp',
    '--api-url',
    stack.devnet.url,
    '--max-amount',
    '0.01 STX',
    ...extra,
  ];

  async function stdioSession(env: Record<string, string>): Promise<Session> {
    const args = mcpArgs();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args,
      env: mcpEnv(env),
      stderr: 'pipe',
    });
    const seen: string[] = [];
    transport.stderr?.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    const client = new Client({ name: 'mcp-signer-test', version: '1.0.0' });
    await client.connect(transport);
    const session = { client, seen, pid: transport.pid, args };
    sessions.push(session);
    return session;
  }

  async function httpSession(env: Record<string, string>): Promise<Session> {
    const args = mcpArgs(['--transport', 'http', '--port', '0']);
    const child = spawn(process.execPath, args, {
      env: mcpEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const seen: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    const url = (await waitFor(child, /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 'stderr'))[1]!;
    const client = new Client({ name: 'mcp-signer-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const session = { client, seen, pid: child.pid ?? null, args };
    sessions.push(session);
    return session;
  }

  async function call(session: Session, name: string, args: Record<string, unknown> = {}) {
    const result = (await session.client.callTool({ name, arguments: args })) as CallToolResult;
    session.seen.push(JSON.stringify(result));
    // biome-ignore lint/suspicious/noExplicitAny: a tool's JSON answer, read field by field by the assertions
    return { result, value: result.structuredContent as Record<string, any> };
  }

  /** The key is nowhere in what the mcp process was given or said. */
  function assertNoKey(session: Session) {
    const key = buyer.privateKey.slice(0, 64);
    for (const text of session.seen) assert.ok(!text.includes(key), 'the key is in no answer');
    assert.ok(!session.args.join(' ').includes(key));
    // What the process really holds in its environment and arguments, as the kernel has them (Linux).
    assert.ok(session.pid !== null, 'the mcp process is running');
    if (process.platform === 'linux') {
      const environ = readFileSync(`/proc/${session.pid}/environ`, 'utf8');
      const cmdline = readFileSync(`/proc/${session.pid}/cmdline`, 'utf8');
      assert.ok(!environ.includes(key), 'the key is not in the mcp process environment');
      assert.ok(!/STACKS_PRIVATE_KEY|X402_KEY_FILE/.test(environ), 'no key variable either');
      assert.ok(!cmdline.includes(key) && !cmdline.includes('--key-file'));
    }
  }

  const signed = () =>
    signerLines.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'signed');

  test('fetch_paid pays through the signer socket; the mcp process never holds the key', {
    timeout: 120_000,
  }, async () => {
    const session = await stdioSession({});
    const stxBefore = stack.stx(buyer.address);
    const sellerBefore = stack.stx(stack.payTo);
    const signedBefore = signed().length;

    const balance = await call(session, 'balance');
    assert.equal(balance.value.address, buyer.address, 'it serves the signer’s address');

    const paid = await call(session, 'fetch_paid', { url: `${stack.sellerUrl}/paid` });
    assert.equal(paid.result.isError, undefined, JSON.stringify(paid.value));
    assert.equal(paid.value.status, 200);
    assert.equal(JSON.parse(paid.value.body).data, 'premium');
    assert.equal(paid.value.payment.amount, '1000');
    assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
    assert.equal(
      stack.stx(buyer.address),
      stxBefore - 1000n - BigInt(paid.value.payment.fee),
      'the signer’s account paid the price and the fee',
    );
    // The signer signed exactly this payment.
    await until(() => signed().length === signedBefore + 1);
    assert.equal(signed().at(-1).amount, '1000');
    assert.equal(signed().at(-1).payTo, stack.payTo);

    const budget = await call(session, 'budget');
    assert.equal(budget.value.budgetFile, null);
    assert.equal(budget.value.assets.STX.spent.atomic, '1000');
    assert.equal(budget.value.assets.STX.session.spent.atomic, '1000');
    assert.equal(budget.value.assets.STX.left.atomic, String(1_000_000n - 1000n));
    await call(session, 'payment_status', { txid: paid.value.payment.txid });
    await call(session, 'payment_status');
    assertNoKey(session);
  });

  test('two sessions share a budget file: the second is refused over budget with nothing signed', {
    timeout: 120_000,
  }, async () => {
    // 0.0015 STX in all: one payment of 0.001 fits, a second does not, whichever session makes it.
    const env = { X402_BUDGET_FILE: budgetFile, X402_BUDGET: '0.0015 STX' };
    const first = await stdioSession(env);
    const second = await httpSession(env);

    const paid = await call(first, 'fetch_paid', { url: `${stack.sellerUrl}/paid` });
    assert.equal(paid.result.isError, undefined, JSON.stringify(paid.value));
    assert.equal(paid.value.payment.amount, '1000');

    const stxBefore = stack.stx(buyer.address);
    const attemptsBefore = stack.hits('/paid').paid;
    const signedBefore = signed().length;
    const refused = await call(second, 'fetch_paid', { url: `${stack.sellerUrl}/paid` });
    assert.equal(refused.result.isError, true);
    assert.equal(refused.value.error, 'payment_over_budget', JSON.stringify(refused.value));
    assert.match(refused.value.message, /0\.0005 STX left/);
    // Nothing signed, nothing sent, nothing moved.
    assert.equal(signed().length, signedBefore);
    assert.equal(stack.hits('/paid').paid, attemptsBefore);
    assert.equal(stack.stx(buyer.address), stxBefore);

    // The second session spent nothing itself; the file holds the first's payment.
    const budget = await call(second, 'budget');
    const stx = budget.value.assets.STX;
    assert.equal(budget.value.budgetFile, budgetFile);
    assert.equal(stx.session.spent.atomic, '0');
    assert.equal(stx.session.left.atomic, '1500');
    assert.equal(stx.file.spent.atomic, '1000');
    assert.equal(stx.file.budget.atomic, '1500');
    assert.equal(stx.file.left.atomic, '500');
    assert.equal(stx.spent.atomic, '1000');
    assert.equal(stx.left.atomic, '500');
    assertNoKey(first);
    assertNoKey(second);

    // A restart: the sessions end, a new one opens the same file and still sees what was spent.
    await first.client.close();
    await second.client.close();
    const restarted = await stdioSession(env);
    const afterRestart = await call(restarted, 'budget');
    assert.equal(afterRestart.value.assets.STX.file.spent.atomic, '1000');
    assert.equal(afterRestart.value.assets.STX.left.atomic, '500');
    const again = await call(restarted, 'fetch_paid', { url: `${stack.sellerUrl}/paid` });
    assert.equal(again.value.error, 'payment_over_budget');
    assert.equal(signed().length, signedBefore);

    // A larger budget for the file lets the restarted agent pay again: the cap is the file's, not the process's.
    const raised = await stdioSession({ ...env, X402_BUDGET: '0.0025 STX' });
    const paidAgain = await call(raised, 'fetch_paid', { url: `${stack.sellerUrl}/paid` });
    assert.equal(paidAgain.result.isError, undefined, JSON.stringify(paidAgain.value));
    const last = await call(raised, 'budget');
    assert.equal(last.value.assets.STX.file.spent.atomic, '2000');
    assert.equal(last.value.assets.STX.session.spent.atomic, '1000');
    assertNoKey(restarted);
    assertNoKey(raised);
  });

  test('a key and a signer socket together, or a signer that is not there, are refused without the key', {
    timeout: 60_000,
  }, async () => {
    const keyFile = join(dir, 'buyer.key');
    const both = await run(mcpArgs(['--key-file', keyFile]), mcpEnv({}));
    assert.equal(both.code, 2, both.out);
    assert.match(both.out, /not both/);
    const keyInEnv = await run(mcpArgs(), mcpEnv({ STACKS_PRIVATE_KEY: buyer.privateKey }));
    assert.equal(keyInEnv.code, 2, keyInEnv.out);
    assert.match(keyInEnv.out, /not both/);
    const gone = await run(mcpArgs(), mcpEnv({ X402_SIGNER_SOCKET: join(dir, 'nobody.sock') }));
    assert.equal(gone.code, 1, gone.out);
    assert.match(gone.out, /signer_unavailable/);
    for (const { out } of [both, keyInEnv, gone]) {
      assert.ok(!out.includes(buyer.privateKey.slice(0, 64)));
    }
  });
});

function run(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
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

async function until(done: () => boolean): Promise<void> {
  for (let tries = 0; tries < 200 && !done(); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(done(), 'in time');
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
