/** The service as a process: started with only environment variables, healthy against the devnet, stopped cleanly. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
import Database from 'better-sqlite3';
import { stxPaymentBody } from './payment-body.js';
import { startProcess } from './process.js';

test('starts from the environment, serves /health, and exits 0 on SIGTERM', {
  timeout: 60_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-facilitator-'));
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const service = await startProcess(['--import', 'tsx', main], {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
  });
  try {
    const health = await fetch(`${service.url}/health`);
    assert.equal(health.status, 200);
    const supported = (await (await fetch(`${service.url}/supported`)).json()) as {
      kinds: { network: string }[];
    };
    assert.equal(supported.kinds[0]?.network, 'stacks:2147483648');
    assert.equal(await service.stop('SIGTERM'), 0);
  } finally {
    service.child.kill('SIGKILL');
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad configuration exits 2 and lists the problem', { timeout: 30_000 }, async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, PORT: 'nope' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(errors, /PORT/);
});

test('a stop held up by a settle call waiting on a stalled chain ends 15 s after SIGTERM, the settlement kept in the ledger', {
  timeout: 60_000,
}, async () => {
  const devnet = await startDevnet({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-facilitator-'));
  const path = join(dir, 'ledger.db');
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const service = await startProcess(['--import', 'tsx', main], {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${path}`,
    // The settle call waits up to two minutes for its confirmation, and the chain mines nothing meanwhile.
    SETTLE_TIMEOUT_MS: '120000',
    CLAIM_LEASE_MS: '150000',
  });
  let errors = '';
  service.child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  try {
    const body = await stxPaymentBody({
      payer: devnet.accounts[0]!.account,
      payTo: devnet.accounts[1]!.address,
      nonce: 0n,
    });
    devnet.chain.stall(true);
    const settling = fetch(`${service.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch((error: unknown) => error);
    const sentBy = Date.now() + 10_000;
    while (devnet.chain.mempool.length === 0) {
      assert.ok(Date.now() < sentBy, 'the settle call broadcast its payment');
      await new Promise((r) => setTimeout(r, 20));
    }
    const signalledAt = performance.now();
    const code = await service.stop('SIGTERM');
    const tookMs = performance.now() - signalledAt;
    assert.equal(code, 1);
    assert.ok(tookMs >= 14_000 && tookMs < 25_000, `stopped after ${Math.round(tookMs)} ms`);
    assert.match(errors, /still stopping after 15 s; exiting/);
    assert.ok((await settling) instanceof Error, 'the settle call in flight was cut, not answered');
    const ledger = new Database(path, { readonly: true });
    try {
      const rows = ledger.prepare('select state from x402_settlements').all();
      assert.deepEqual(rows, [{ state: 'broadcast' }], 'kept for the next start to follow');
    } finally {
      ledger.close();
    }
  } finally {
    service.child.kill('SIGKILL');
    devnet.chain.stall(false);
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
