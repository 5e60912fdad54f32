/** `x402-stacks registry` through the real bin: help, usage errors, and a real start, registration and stop. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProcess } from '@x402-stacks/test-kit';
import { docsDocument, jsonAnswer, startSeller } from '../../../apps/registry/test/fixtures.js';

const BIN = fileURLToPath(new URL('../bin/x402-stacks.js', import.meta.url));
const ENTRY = [BIN, 'registry'];

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [...ENTRY, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
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
}

test('registry --help lists the options and the environment; bad input exits 2', {
  timeout: 60_000,
}, async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--allow-insecure-local/);
  assert.match(help.out, /INSTANCE_ID +\(a random UUID\)/);
  assert.match(help.out, /DATABASE_URL/);
  assert.equal((await run(['--bogus'])).code, 2);
  const bad = await run(['--port', 'x'], { DATABASE_URL: 'mysql://u:hunter22@h/db' });
  assert.equal(bad.code, 2);
  assert.match(bad.out, /PORT/);
  assert.match(bad.out, /DATABASE_URL/);
  assert.doesNotMatch(bad.out, /hunter22/);
});

test('registry --allow-insecure-local --port 0 registers a local seller and stops on SIGINT', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-cli-registry-'));
  const seller = await startSeller((path) =>
    path === '/weather' ? jsonAnswer(docsDocument(`${seller.url}/weather`)) : undefined,
  );
  const service = await startProcess([...ENTRY, '--allow-insecure-local', '--port', '0'], {
    DATABASE_URL: `sqlite:${join(dir, 'r.db')}`,
    CHECK_INTERVAL_MS: '0',
    LOG_LEVEL: 'silent',
  });
  try {
    const response = await fetch(`${service.url}/api/v1/resources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${seller.url}/weather` }),
    });
    assert.equal(response.status, 201);
    const page = await (await fetch(`${service.url}/`)).text();
    assert.match(page, /Weather API/);
    assert.equal(await service.stop('SIGINT'), 0);
    assert.match(service.output(), /SIGINT: stopped/);
  } finally {
    service.child.kill('SIGKILL');
    await seller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
