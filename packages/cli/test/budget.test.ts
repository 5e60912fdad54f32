/**
 * `x402-stacks budget` and the budget flags of `x402-stacks pay`: payments counted in a budget file, the caps shown
 * as text and JSON, a refused payment past the cap (payment_over_budget, nothing signed), a window reset, and the
 * flags' usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requirement, type Stack, startStack } from '../../../e2e/clients/client-stack.js';
import { runBudget } from '../src/budget.js';
import { readDuration } from '../src/budget-options.js';
import { runPay } from '../src/pay.js';
import { capture } from './capture.js';

describe('x402-stacks budget and pay --budget-file', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'x402-budget-cli-'));
  before(async () => {
    stack = await startStack();
    stack.route('/stx', { accepts: [requirement({ payTo: stack.payTo, amount: '2500' })] });
  });
  after(async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('pays within the caps, refuses past them, and shows the spending against each cap', async () => {
    const buyer = stack.buyer();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, buyer.privateKey, { mode: 0o600 });
    const file = join(dir, 'budget.jsonl');
    const env = { X402_BUDGET_FILE: file, X402_WINDOW_BUDGET: '0.005STX' };
    const pay = async () => {
      const out = capture();
      const code = await runPay(
        [
          `${stack.sellerUrl}/stx`,
          '--key-file',
          keyFile,
          '--api-url',
          stack.devnet.url,
          '--budget',
          '0.01STX',
          '--json=summary',
        ],
        out.io,
        env,
      );
      return { code, result: JSON.parse(out.stdout().split('\n').at(-1)!) };
    };
    assert.equal((await pay()).code, 0);
    assert.equal((await pay()).code, 0);
    const third = await pay();
    assert.equal(third.code, 1);
    assert.equal(third.result.reason, 'payment_over_window_budget');

    const shown = capture();
    assert.equal(await runBudget(['--budget', '0.01STX', '--json'], shown.io, env), 0);
    const view = JSON.parse(shown.stdout());
    assert.deepEqual(view.assets, [
      {
        asset: 'STX',
        symbol: 'STX',
        total: '5000',
        totalCap: '10000',
        window: '5000',
        windowCap: '5000',
        reserved: '0',
        windowStart: view.assets[0].windowStart,
      },
    ]);
    const text = capture();
    assert.equal(await runBudget(['--budget', '0.01STX'], text.io, env), 0);
    assert.match(
      text.stdout(),
      /STX +total 0\.005 STX of 0\.01 STX; window \(since .*\) 0\.005 STX of 0\.005 STX; reserved 0 STX/,
    );

    // A reset of the window lets the next payment through; the total still counts it.
    assert.equal(await runBudget(['--reset-window', 'STX'], capture().io, env), 0);
    assert.equal((await pay()).code, 0);
    assert.equal((await pay()).code, 0);
    // The total of 0.01 STX is reached now, whatever the window says.
    const fifth = await pay();
    assert.equal(fifth.result.reason, 'payment_over_budget');
    const after = capture();
    await runBudget(['--json'], after.io, env);
    assert.equal(JSON.parse(after.stdout()).assets[0].total, '10000');
  });

  test('usage errors: no budget file, a bad amount, a bad window, a key file beside a signer socket', async () => {
    const none = capture();
    assert.equal(await runBudget(['--json'], none.io, {}), 2);
    assert.equal(JSON.parse(none.stdout()).reason, 'no_budget_file');
    const amount = capture();
    assert.equal(
      await runBudget(['--budget-file', join(dir, 'b'), '--budget', '5 DOGE'], amount.io, {}),
      2,
    );
    assert.match(amount.stderr(), /--budget '5 DOGE' is not an amount and an asset/);
    const both = capture();
    assert.equal(
      await runPay(['http://127.0.0.1:9/', '--key-file', 'k', '--signer-socket', 's'], both.io, {}),
      2,
    );
    assert.match(both.stderr(), /give --key-file or --signer-socket, not both/);
    assert.throws(() => readDuration('soon'), /is not a duration/);
    assert.equal(readDuration('24h'), 86_400_000);
    assert.equal(readDuration('90s'), 90_000);
    const corrupt = join(dir, 'corrupt.jsonl');
    writeFileSync(corrupt, 'garbage\n');
    const broken = capture();
    assert.equal(await runBudget(['--budget-file', corrupt, '--json'], broken.io, {}), 1);
    assert.equal(JSON.parse(broken.stdout()).reason, 'budget_store_corrupt');
  });
});
