/**
 * Budgets shared by several buyer processes through one budget file (`createFileBudgetStore`), against the devnet,
 * the facilitator service and the library's Express middleware: five processes paying twenty requests each at once
 * against a cap of fifty payments make exactly fifty; a buyer killed with SIGKILL in the middle of paying and started
 * again loses no spending record, so the cap still holds over both runs; a payment a hostile server refused (while
 * holding its signed bytes) stays counted in the file, and one that never left is given back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeypair } from 'x402-stacks';
import { createFileBudgetStore, wrapFetchWithPayment } from 'x402-stacks/client';
import { encodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { requirement, type Stack, startStack } from './client-stack.js';

const CHILD = new URL('./budget-buyer.ts', import.meta.url).pathname;
const PRICE = 1_000n;

function buyerProcess(stack: Stack, file: string, extra: Record<string, string>): ChildProcess {
  const buyer = stack.buyer();
  return spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      BUDGET_KEY: buyer.privateKey,
      BUDGET_API_URL: stack.devnet.url,
      BUDGET_URL: `${stack.middlewareUrl}/stx`,
      BUDGET_FILE: file,
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The outcomes a child printed, as they come; `onLine` sees each one. */
function outcomes(child: ChildProcess, onLine: (outcome: string) => void = () => {}): string[] {
  const seen: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const { outcome } = JSON.parse(buffered.slice(0, newline)) as { outcome: string };
      buffered = buffered.slice(newline + 1);
      seen.push(outcome);
      onLine(outcome);
      newline = buffered.indexOf('\n');
    }
  });
  return seen;
}

describe('a budget file shared by buyer processes', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('5 processes × 20 payments at once against a cap of 50 payments make exactly 50', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'x402-budget-')), 'budget.jsonl');
    const sellerBefore = stack.stx(stack.payTo);
    const children = Array.from({ length: 5 }, () =>
      buyerProcess(stack, file, {
        BUDGET_TOTAL: String(50n * PRICE),
        BUDGET_PAYMENTS: '20',
      }),
    );
    const seen = children.map((child) => outcomes(child));
    const codes = await Promise.all(children.map(async (child) => (await once(child, 'exit'))[0]));
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    const all = seen.flat();
    assert.equal(all.length, 100);
    assert.equal(all.filter((outcome) => outcome === 'paid').length, 50);
    assert.equal(all.filter((outcome) => outcome === 'payment_over_budget').length, 50);
    assert.equal(stack.stx(stack.payTo), sellerBefore + 50n * PRICE);
    const usage = await createFileBudgetStore(file).usage('STX', 86_400_000);
    assert.equal(usage.total, 50n * PRICE);
    assert.equal(usage.reserved, 0n);
  });

  test('a buyer killed with SIGKILL mid-way and started again loses no record: the cap holds over both runs', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'x402-budget-')), 'budget.jsonl');
    const cap = 12n;
    const sellerBefore = stack.stx(stack.payTo);
    const env = { BUDGET_TOTAL: String(cap * PRICE), BUDGET_SEQUENTIAL: '1' };
    const first = buyerProcess(stack, file, env);
    let paid = 0;
    const killed = new Promise<void>((resolve) => {
      outcomes(first, (outcome) => {
        if (outcome === 'paid' && ++paid === 5) {
          // In the middle of its sixth payment, wherever that is.
          first.kill('SIGKILL');
          resolve();
        }
      });
    });
    await killed;
    await once(first, 'exit');
    const afterKill = await createFileBudgetStore(file).usage('STX', 86_400_000);
    // Everything that moved is recorded (the sixth payment may be recorded and not yet moved, never the reverse).
    const moved = stack.stx(stack.payTo) - sellerBefore;
    assert.ok(afterKill.total >= moved, `${afterKill.total} recorded, ${moved} moved`);

    const second = buyerProcess(stack, file, env);
    const rest = outcomes(second);
    assert.equal((await once(second, 'exit'))[0], 0);
    assert.equal(rest.at(-1), 'payment_over_budget');
    stack.devnet.chain.mineBlock();
    const movedInAll = stack.stx(stack.payTo) - sellerBefore;
    const recorded = (await createFileBudgetStore(file).usage('STX', 86_400_000)).total;
    assert.equal(recorded, cap * PRICE);
    assert.ok(movedInAll <= cap * PRICE, `${movedInAll} moved against a cap of ${cap * PRICE}`);
    // At most the payment cut by the kill is counted without having moved.
    assert.ok(movedInAll >= (cap - 1n) * PRICE, `${movedInAll} moved`);
  });

  test('a payment the server refused stays counted in the file; one that never left (no funds) is given back', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'x402-budget-')), 'budget.jsonl');
    // A hostile seller: it answers 402 to the paid request too, holding a signed payment it could broadcast.
    const challenge = encodePaymentRequiredHeader({
      x402Version: 2,
      resource: { url: 'http://127.0.0.1/' },
      accepts: [requirement({ payTo: stack.payTo, amount: '3000' })],
    });
    const hostile = createServer((_, response) => {
      response.writeHead(402, { 'payment-required': challenge }).end('{}');
    });
    hostile.listen(0, '127.0.0.1');
    await once(hostile, 'listening');
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/`;
    try {
      const options = { apiUrl: stack.devnet.url, budgetStore: createFileBudgetStore(file) };
      const refused = await wrapFetchWithPayment(
        fetch,
        stack.buyer(),
        options,
      )(url).catch((error: { reason?: string }) => error.reason);
      assert.equal(refused, 'payment_rejected');
      const held = await createFileBudgetStore(file).usage('STX', 86_400_000);
      assert.deepEqual([held.total, held.reserved], [3000n, 0n]);

      const broke = await wrapFetchWithPayment(
        fetch,
        generateKeypair('testnet'),
        options,
      )(url).catch((error: { reason?: string }) => error.reason);
      assert.equal(broke, 'insufficient_funds');
      assert.equal((await createFileBudgetStore(file).usage('STX', 86_400_000)).total, 3000n);
    } finally {
      hostile.close();
    }
  });
});
