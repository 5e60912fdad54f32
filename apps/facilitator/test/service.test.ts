/** The service as a process: started with only environment variables, healthy against the devnet, stopped cleanly. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevnet } from '@x402-stacks/devnet';
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
