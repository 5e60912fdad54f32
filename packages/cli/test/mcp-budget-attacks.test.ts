/**
 * What an agent (the MCP client) tries against the budget of `x402-stacks mcp`, through the real bin over stdio and
 * the MCP SDK's client, against the buyer test stack on 127.0.0.1 (a devnet, the facilitator service, a seller that
 * counts paid attempts):
 * - paying in an asset the `--budget` given does not name: that asset keeps its default session cap;
 * - many `fetch_paid` calls side by side: the session cap holds, and only what fits is signed and sent;
 * - a payment that fails before it leaves (no funds): released in the session and in the budget file, once.
 * And what the command line takes as a budget: an asset named twice, or '1,000 STX', is refused, not guessed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { StacksAccount } from 'x402-stacks';
import { createFileBudgetStore } from 'x402-stacks/client';
import {
  requirement,
  SBTC_ASSET_ID,
  type Stack,
  startStack,
} from '../../../e2e/clients/client-stack.js';
import { readBudgetSettings } from '../src/budget-options.js';
import { UsageError } from '../src/io.js';
import { parseMcpArgs } from '../src/mcp-config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/x402-stacks.js');
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
const DAY = 86_400_000;

describe('x402-stacks mcp against an agent that tries to overspend', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'x402-mcp-attacks-'));
  const clients: Client[] = [];

  before(async () => {
    stack = await startStack();
    stack.route('/paid', { accepts: [requirement({ payTo: stack.payTo })] });
    // 6,000 sats: one fits under the default session cap of 0.0001 sBTC (10,000 sats), two do not.
    stack.route('/sbtc-6000', {
      accepts: [requirement({ payTo: stack.payTo, asset: SBTC_ASSET_ID, amount: '6000' })],
    });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function session(buyer: StacksAccount, args: string[], env: Record<string, string> = {}) {
    const keyFile = join(dir, `${buyer.address}.key`);
    writeFileSync(keyFile, `${buyer.privateKey}\n`, { mode: 0o600 });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--api-url', stack.devnet.url, '--key-file', keyFile, ...args],
      env: { ...BASE_ENV, ...env },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'mcp-attacks-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    // biome-ignore lint/suspicious/noExplicitAny: a tool's JSON answer, read field by field by the assertions
    return { result, value: result.structuredContent as Record<string, any> };
  }

  test('a --budget that names only STX leaves sBTC under its default session cap, not uncapped', {
    timeout: 120_000,
  }, async () => {
    const buyer = stack.buyer({ stx: 10_000_000n, sBTC: 1_000_000n });
    const client = await session(buyer, ['--budget', '0.01 STX']);

    const before = await call(client, 'budget');
    assert.equal(before.value.assets.sBTC?.session.budget.atomic, '10000', 'sBTC is capped');
    assert.equal(before.value.assets.sBTC?.left.atomic, '10000');
    // The budget tells the whole truth about one payment too: the library's default maximum applies.
    assert.equal(before.value.assets.STX.left.atomic, '10000');
    assert.equal(before.value.assets.STX.maxPerPayment?.atomic, '1000000');
    assert.equal(before.value.assets.sBTC.payable, true);

    const first = await call(client, 'fetch_paid', { url: `${stack.sellerUrl}/sbtc-6000` });
    assert.equal(first.result.isError, undefined, JSON.stringify(first.value));
    assert.equal(first.value.payment.amount, '6000');

    const sbtcBefore = stack.sbtc(buyer.address);
    const attemptsBefore = stack.hits('/sbtc-6000').paid;
    const second = await call(client, 'fetch_paid', { url: `${stack.sellerUrl}/sbtc-6000` });
    assert.equal(second.result.isError, true, JSON.stringify(second.value));
    assert.equal(second.value.error, 'payment_over_budget');
    assert.equal(stack.hits('/sbtc-6000').paid, attemptsBefore, 'nothing was sent');
    assert.equal(stack.sbtc(buyer.address), sbtcBefore, 'nothing moved');

    const budget = await call(client, 'budget');
    assert.equal(budget.value.assets.sBTC.session.spent.atomic, '6000');
    assert.equal(budget.value.assets.sBTC.left.atomic, '4000');
    assert.equal(budget.value.assets.STX.session.budget.atomic, '10000', 'the STX cap given');
  });

  test('fetch_paid calls side by side never overspend the session cap', {
    timeout: 120_000,
  }, async () => {
    const buyer = stack.buyer({ stx: 10_000_000n });
    // 0.0025 STX: two payments of 0.001 fit, the third does not.
    const client = await session(buyer, ['--budget', '0.0025 STX', '--max-amount', '0.01 STX']);
    const stxBefore = stack.stx(buyer.address);
    const attemptsBefore = stack.hits('/paid').paid;
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        call(client, 'fetch_paid', { url: `${stack.sellerUrl}/paid` }),
      ),
    );
    const paid = results.filter((result) => result.result.isError === undefined);
    const refused = results.filter((result) => result.result.isError === true);
    assert.equal(paid.length, 2, JSON.stringify(results.map((result) => result.value)));
    assert.deepEqual(
      refused.map((result) => result.value.error),
      Array(4).fill('payment_over_budget'),
    );
    assert.equal(stack.hits('/paid').paid, attemptsBefore + 2, 'only two payments were sent');
    const fees = paid.reduce((sum, result) => sum + BigInt(result.value.payment.fee), 0n);
    assert.equal(stack.stx(buyer.address), stxBefore - 2000n - fees);
    const budget = await call(client, 'budget');
    assert.equal(budget.value.assets.STX.session.spent.atomic, '2000');
    assert.equal(budget.value.assets.STX.left.atomic, '500');
    // sBTC keeps a session cap but is not paid at all: --max-amount names STX only.
    assert.equal(budget.value.assets.STX.payable, true);
    assert.equal(budget.value.assets.sBTC.payable, false);
    assert.equal(budget.value.assets.sBTC.maxPerPayment, undefined);
  });

  test('a payment that fails before it leaves is released in the session and in the budget file', {
    timeout: 120_000,
  }, async () => {
    // No sBTC at all: the payment is signed, found short, and never sent.
    const buyer = stack.buyer({ stx: 10_000_000n, sBTC: 0n });
    const budgetFile = join(dir, 'released.jsonl');
    const client = await session(buyer, [], {
      X402_BUDGET_FILE: budgetFile,
      X402_WINDOW_BUDGET: '0.0001 sBTC',
    });
    const attemptsBefore = stack.hits('/sbtc-6000').paid;
    for (let attempt = 0; attempt < 3; attempt++) {
      const refused = await call(client, 'fetch_paid', { url: `${stack.sellerUrl}/sbtc-6000` });
      assert.equal(refused.value.error, 'insufficient_funds', JSON.stringify(refused.value));
    }
    assert.equal(stack.hits('/sbtc-6000').paid, attemptsBefore, 'nothing was sent');
    const budget = await call(client, 'budget');
    const sbtc = budget.value.assets.sBTC;
    assert.equal(sbtc.session.spent.atomic, '0', 'the session holds nothing back');
    assert.equal(sbtc.file.spent.atomic, '0');
    assert.equal(sbtc.file.reserved.atomic, '0');
    assert.equal(sbtc.window.spent.atomic, '0');
    assert.equal(sbtc.left.atomic, '10000');
    // The file itself, read by another process's store, agrees.
    const usage = await createFileBudgetStore(budgetFile).usage(SBTC_ASSET_ID, DAY);
    assert.equal(usage.total, 0n);
    assert.equal(usage.reserved, 0n);
  });
});

describe('budget amounts on the command line', () => {
  const env = { STACKS_PRIVATE_KEY: 'unused-by-the-parser' };
  const reasonOf = (run: () => unknown): string | undefined => {
    try {
      run();
    } catch (error) {
      if (error instanceof UsageError) return error.reason;
      throw error;
    }
    return undefined;
  };

  test("an asset named twice is refused, whichever amount was meant (mcp, pay's flags and variables)", () => {
    assert.equal(
      reasonOf(() => parseMcpArgs(['--budget', '0.001 STX, 5 STX'], env)),
      'duplicate_asset',
    );
    assert.equal(
      reasonOf(() => parseMcpArgs(['--budget', '0.001 STX', '--budget', '5stx'], env)),
      'duplicate_asset',
    );
    assert.equal(
      reasonOf(() => parseMcpArgs(['--max-amount', '0.01 STX, 100 STX'], env)),
      'duplicate_asset',
    );
    assert.equal(
      reasonOf(() =>
        readBudgetSettings({}, { X402_WINDOW_BUDGET: '1 sBTC, 0.0001 SBTC' }, 'testnet'),
      ),
      'duplicate_asset',
    );
    // Different assets are fine, in one flag or several.
    const settings = readBudgetSettings(
      { budget: ['1 STX, 0.001 sBTC', '2 USDCx'] },
      {},
      'testnet',
    );
    assert.deepEqual(settings.total, { STX: 1_000_000n, sBTC: 100_000n, USDCx: 2_000_000n });
  });

  test("'1,000 STX' is refused, never read as 1 STX or 1000 STX", () => {
    assert.equal(
      reasonOf(() => parseMcpArgs(['--budget', '1,000 STX'], env)),
      'usage_error',
    );
    assert.equal(
      reasonOf(() => parseMcpArgs(['--budget', '1,000.5STX'], env)),
      'usage_error',
    );
    assert.equal(
      reasonOf(() => readBudgetSettings({}, { X402_BUDGET: '1,000 STX' }, 'testnet')),
      'usage_error',
    );
  });

  test('the session is capped in every asset it may pay, whatever --budget names', () => {
    const options = parseMcpArgs(['--budget', '5 STX'], env);
    assert.ok(options !== 'help');
    assert.deepEqual(options.budget, { STX: 5_000_000n, sBTC: 10_000n, USDCx: 1_000_000n });
    // The file's total is what was given, and only that.
    assert.deepEqual(options.budgetSettings.total, { STX: 5_000_000n });
  });
});
