/** `x402-stacks facilitator` through the real bin: starts from flags and environment, answers, stops on SIGINT. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import { startProcess, testPostgresUrl } from '@x402-stacks/test-kit';
import {
  COLLECTING,
  GC_TRACING,
  grewAfterListening,
} from '../../../apps/facilitator/test/gc-trace.js';
import {
  assertEndedAtDeadline,
  stopWithLedgerStuck,
} from '../../../apps/facilitator/test/stuck-ledger.js';

const BIN = fileURLToPath(new URL('../bin/x402-stacks.js', import.meta.url));
const POSTGRES_URL = await testPostgresUrl();

test('x402-stacks facilitator --port 0 serves the devnet and stops cleanly on SIGINT', {
  timeout: 60_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-cli-facilitator-'));
  const service = await startProcess([BIN, 'facilitator', '--port', '0'], {
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${join(dir, 'l.db')}`,
  });
  try {
    assert.equal((await fetch(`${service.url}/health`)).status, 200);
    assert.equal(await service.stop('SIGINT'), 0);
    assert.match(service.output(), /SIGINT: stopped/);
  } finally {
    service.child.kill('SIGKILL');
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('x402-stacks facilitator ends 15 s after SIGTERM with exit 1 when its stop is held up (a ledger stuck on a lock)', {
  timeout: 60_000,
}, async () => {
  assertEndedAtDeadline(
    await stopWithLedgerStuck([BIN, 'facilitator', '--port', '0'], POSTGRES_URL),
  );
});

test('x402-stacks facilitator applies HEAP_GROWTH_PERCENT to its own process once it listens', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-cli-heap-growth-'));
  const service = await startProcess(
    [...GC_TRACING, ...COLLECTING, BIN, 'facilitator', '--port', '0'],
    {
      // Nothing listens there: the service starts without reading the chain.
      STACKS_API_URL_TESTNET: 'http://127.0.0.1:9',
      DATABASE_URL: `sqlite:${join(dir, 'l.db')}`,
      // 1.01, printed 1.0: below any factor V8 picks itself (1.1 at the least), so only the setting can show it.
      HEAP_GROWTH_PERCENT: '1',
    },
  );
  try {
    assert.ok(await grewAfterListening(service, '1.0'), 'a full collection grew by 1.01');
    assert.equal(await service.stop('SIGINT'), 0);
  } finally {
    service.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('x402-stacks facilitator --help lists the environment; a bad flag exits 2', {
  timeout: 30_000,
}, async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'facilitator', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.once('exit', (code) => resolve({ code, out }));
    });
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /DATABASE_URL/);
  // Every name stands apart from its default, and an empty default says what it stands for.
  assert.match(help.out, /SPONSOR_MAX_IN_FLIGHT_PER_PAYER +\(10\)/);
  assert.match(help.out, /CLAIM_LEASE_MS +\(SETTLE_TIMEOUT_MS \+ 30000\)/);
  assert.match(help.out, /SBTC_CONTRACT_TESTNET +\(SN3VMHX\w+\.sbtc-token\)/);
  assert.equal((await run(['--bogus'])).code, 2);
  assert.equal((await run(['--port', 'x'])).code, 2);
});
