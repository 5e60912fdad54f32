import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startProcess } from '@x402-stacks/test-kit';
import { limitHeapGrowth, MAX_HEAP_GROWTH_PERCENT } from '../src/heap-growth.js';
import { COLLECTING, factorsIn, GC_TRACING, grewAfterListening } from './gc-trace.js';

const MODULE = pathToFileURL(fileURLToPath(new URL('../src/heap-growth.ts', import.meta.url))).href;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The factor of a full collection run right after `limitHeapGrowth(percent)`, in a child started with `flags`. */
function factorAfter(percent: number, flags: readonly string[] = []): string {
  const script = `
    import { limitHeapGrowth } from ${JSON.stringify(MODULE)};
    limitHeapGrowth(${percent});
    globalThis.gc();
  `;
  const child = spawnSync(
    process.execPath,
    [...flags, ...GC_TRACING, '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  const factors = factorsIn(child.stdout);
  assert.ok(factors.length > 0, 'a full collection reported its factor');
  return factors.at(-1)!;
}

describe('limitHeapGrowth', () => {
  test('fixes the factor V8 grows the old generation by, from the next full collection', () => {
    assert.equal(factorAfter(30), '1.3');
    assert.equal(factorAfter(100), '2.0');
  });

  test('0 leaves the factor alone: V8 keeps the one node was started with', () => {
    assert.equal(factorAfter(0, ['--heap-growing-percent=50']), '1.5');
    assert.equal(factorAfter(30, ['--heap-growing-percent=50']), '1.3');
  });

  test('the service started as its README says applies HEAP_GROWTH_PERCENT once it listens', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-heap-growth-'));
    const service = await startProcess([...GC_TRACING, ...COLLECTING, '--import', 'tsx', MAIN], {
      PORT: '0',
      // Nothing listens there: the service starts without reading the chain.
      STACKS_API_URL_TESTNET: 'http://127.0.0.1:9',
      DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
      // 1.01, printed 1.0: below any factor V8 picks itself (1.1 at the least), so only the setting can show it.
      HEAP_GROWTH_PERCENT: '1',
      LOG_LEVEL: 'silent',
    });
    try {
      assert.ok(
        await grewAfterListening(service, '1.0'),
        'a full collection after the service listens grew by 1.01',
      );
      assert.equal(await service.stop('SIGTERM'), 0);
    } finally {
      service.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the flag is one this Node understands (at run time V8 only prints an unknown one to stderr)', () => {
    const known = spawnSync(process.execPath, ['--heap-growing-percent=30', '-e', '0']);
    assert.equal(known.status, 0);
    const unknown = spawnSync(process.execPath, ['--heap-growing-percentage=30', '-e', '0']);
    assert.notEqual(unknown.status, 0);
  });

  test('refuses a negative, fractional or too large percent', () => {
    assert.throws(() => limitHeapGrowth(-1), RangeError);
    assert.throws(() => limitHeapGrowth(1.5), RangeError);
    assert.throws(() => limitHeapGrowth(MAX_HEAP_GROWTH_PERCENT + 1), RangeError);
  });
});
