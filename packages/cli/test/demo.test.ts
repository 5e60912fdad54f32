/**
 * `npm start -- --once`, exactly as the README gives it: the whole stack, the example buyer served, then 100 requests
 * paid over one batch-settlement channel in at most three transactions, exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('npm start -- --once runs the payment flow end to end and exits 0', {
  timeout: 180_000,
}, async () => {
  const child = spawn('npm', ['start', '--', '--once'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLIENT_PRIVATE_KEY: '', STACKS_PRIVATE_KEY: '' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  // The tour's steps, in order: the stack, the 402 offer, the buyer served, the confirmation on chain.
  const steps = [
    /devnet\s+http:\/\/127\.0\.0\.1:\d+/,
    /facilitator\s+http:\/\/127\.0\.0\.1:\d+/,
    /seller\s+http:\/\/127\.0\.0\.1:\d+/,
    /registry\s+http:\/\/127\.0\.0\.1:\d+\/ .*the seller's \/api\/weather is listed at http:\/\/127\.0\.0\.1:\d+\/resources\/[\w-]+/,
    /402 Payment Required/,
    /- 10 atomic units = 0\.00001 STX to ST\w+ on stacks:2147483648/,
    /\[buyer\] Success! Data:/,
    /\[buyer\] Payment transaction: [0-9a-f]{64}/,
    /facilitator\s+settlement success/,
    /chain\s+success in block \d+/,
    /explorer\s+https:\/\/explorer\.hiro\.so\/txid\/0x[0-9a-f]{64}\?chain=testnet&api=/,
    /the buyer spent 10 micro-STX: the price of 10, and no fee/,
    /batch-settlement: 100 paid requests over one channel/,
    /100 paid requests in [\d.]+ s: 1 deposit .*then 99 vouchers/,
    /on chain: 3 transactions \(deposit, claim, settle\) for 100 paid requests/,
    /seller\s+\+10000 micro-STX \(the sum of the charges: 10000\)/,
    /payer\s+-10000 micro-STX/,
    /demo passed/,
  ];
  let from = 0;
  for (const step of steps) {
    const match = step.exec(output.slice(from));
    assert.ok(match, `missing, or out of order: ${step}\n${output}`);
    from += match.index + match[0].length;
  }
  assert.doesNotMatch(output, /Private key:/, 'the buyer used the given key, it generated none');
});

for (const [who, group, sent, code] of [
  ['the demo alone', false, 'SIGTERM', 143],
  ['its whole process group, as Ctrl-C in a terminal does', true, 'SIGINT', 130],
] as const) {
  test(`a ${sent} during the tour, to ${who}: nothing after the step under way runs, the stack stops, exit ${code}`, {
    timeout: 180_000,
  }, async () => {
    const bin = fileURLToPath(new URL('../bin/x402-stacks.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'demo', '--once'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLIENT_PRIVATE_KEY: '', STACKS_PRIVATE_KEY: '' },
      // Its own process group, so that the group can be signalled as a terminal would, and only it.
      detached: group,
    });
    let output = '';
    let signalled = false;
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (!signalled && output.includes('402 Payment Required')) {
        signalled = true;
        if (group) process.kill(-child.pid!, sent);
        else child.kill(sent);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve) =>
        child.once('close', (closedCode, closedSignal) => resolve([closedCode, closedSignal])),
    );
    assert.deepEqual([exitCode, signal], [code, null], output);
    assert.match(output, new RegExp(`${sent}: demo interrupted; stopped`));
    assert.doesNotMatch(
      output,
      /batch-settlement: 100 paid requests/,
      'the batch step never started',
    );
    assert.doesNotMatch(output, /demo passed|demo failed/);
    const seller = /seller\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    assert.ok(seller, output);
    await assert.rejects(fetch(seller), 'the seller process is gone');
  });
}
