/**
 * The registry's own entry point (`node apps/registry/dist/main.js`, here its sources) stops within its deadline: a
 * registration whose probe waits on a seller that accepts and never answers holds the HTTP server's close, and the
 * process still ends 15 s after SIGTERM, saying so. And the service's stop during a discovery import.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProcess } from '@x402-stacks/test-kit';
import { loadConfig, openRegistryStore, startRegistryService } from '../src/index.js';
import { jsonAnswer, startSeller, v2Answer, v2Challenge } from './fixtures.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('SIGTERM: the process answers at once when idle, and ends at the 15 s deadline when a probe hangs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-registry-stop-'));
  // A seller that takes the connection and never says a word.
  const held = new Set<Socket>();
  const silent = createServer((socket) => {
    held.add(socket);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  const env = {
    PORT: '0',
    DATABASE_URL: `sqlite:${join(dir, 'registry.db')}`,
    ALLOW_INSECURE_LOCAL: 'true',
    FETCH_TIMEOUT_MS: '60000',
    LOG_LEVEL: 'silent',
  };
  try {
    const idle = await startProcess(['--import', 'tsx', main], env);
    const idleAt = performance.now();
    assert.equal(await idle.stop('SIGTERM'), 0);
    assert.ok(performance.now() - idleAt < 5_000, 'an idle registry stops at once');
    assert.match(idle.output(), /SIGTERM: stopping/);

    const service = await startProcess(['--import', 'tsx', main], env);
    let errors = '';
    service.child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const registering = fetch(`${service.url}/api/v1/resources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/weather` }),
    }).then(
      (response) => response.status,
      () => 'cut' as const,
    );
    const by = Date.now() + 10_000;
    while (held.size === 0) {
      assert.ok(Date.now() < by, 'the registration probes the silent seller');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const signalledAt = performance.now();
    const code = await service.stop('SIGTERM');
    const tookMs = Math.round(performance.now() - signalledAt);
    assert.equal(code, 1);
    assert.ok(tookMs >= 14_500 && tookMs < 25_000, `stopped after ${tookMs} ms`);
    assert.match(errors, /SIGTERM: still stopping after 15 s; exiting/);
    assert.equal(await registering, 'cut', 'the registration in flight was cut, not answered');
  } finally {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stop during an import gives the registration under way its grace, and starts no other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-registry-import-stop-'));
  let facilitator: Awaited<ReturnType<typeof startSeller>> | undefined;
  facilitator = await startSeller((path) => {
    const base = facilitator!.url;
    if (path === '/discovery/resources') {
      return jsonAnswer(
        {
          x402Version: 2,
          items: ['/slow', '/next'].map((route) => ({
            resource: `${base}${route}`,
            type: 'http',
            x402Version: 2,
            accepts: [],
            lastUpdated: new Date(0).toISOString(),
          })),
          pagination: { limit: 50, offset: 0, total: 2 },
        },
        200,
      );
    }
    // The registration under way: its seller answers a valid 402, a second after it is asked.
    if (path === '/slow') return { ...v2Answer(v2Challenge(`${base}/slow`)), delayMs: 1_000 };
    if (path === '/next') return v2Answer(v2Challenge(`${base}/next`));
    return undefined;
  });
  const database = `sqlite:${join(dir, 'registry.db')}`;
  try {
    const service = await startRegistryService(
      loadConfig({
        PORT: '0',
        DATABASE_URL: database,
        CHECK_INTERVAL_MS: '0',
        ALLOW_INSECURE_LOCAL: 'true',
        IMPORT_DISCOVERY_FROM: facilitator.url,
        LOG_LEVEL: 'silent',
      }),
    );
    const by = Date.now() + 10_000;
    while (!facilitator.hits.get('GET /slow')) {
      assert.ok(Date.now() < by, 'the import probes the first resource');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stoppedAt = performance.now();
    await service.stop();
    const tookMs = performance.now() - stoppedAt;
    assert.ok(tookMs >= 500 && tookMs < 3_500, `stopped after ${Math.round(tookMs)} ms`);
    assert.equal(facilitator.hits.get('GET /next'), undefined, 'no registration after the stop');
    const reopened = await openRegistryStore({ kind: 'sqlite', path: join(dir, 'registry.db') });
    try {
      const page = await reopened.store.page({ statuses: ['pending', 'active'] }, 10, 0);
      assert.deepEqual(
        page.items.map((item) => item.listing.url),
        [`${facilitator.url}/slow`],
        'the registration under way finished and was stored',
      );
    } finally {
      await reopened.close();
    }
  } finally {
    await facilitator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a log reader that goes away costs the lines, not the registry: it serves on, and exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-registry-stop-'));
  const env = {
    PORT: '0',
    DATABASE_URL: `sqlite:${join(dir, 'registry.db')}`,
    ALLOW_INSECURE_LOCAL: 'true',
    LOG_LEVEL: 'info',
  };
  const service = await startProcess(['--import', 'tsx', main], env);
  try {
    // As a log shipper that died: the registry's next writes to standard output fail with EPIPE.
    service.child.stdout.destroy();
    // A registration whose probe is refused: a log line, written after the reader went away.
    await fetch(`${service.url}/api/v1/resources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/weather' }),
    });
    assert.equal((await fetch(`${service.url}/api/v1/resources`)).status, 200);
    // Before, the stop's own line ("SIGTERM: stopping") ended the process with an unhandled EPIPE, exit 1.
    assert.equal(await service.stop('SIGTERM'), 0);
  } finally {
    service.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
