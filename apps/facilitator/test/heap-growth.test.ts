import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { limitHeapGrowth, MAX_HEAP_GROWTH_PERCENT } from '../src/heap-growth.js';

const MODULE = fileURLToPath(new URL('../src/heap-growth.ts', import.meta.url));

/**
 * The growing factor V8 used at a full collection run right after `limitHeapGrowth(percent)`, in a child process
 * started with `flags`: V8 prints it with each new limit under `--trace-gc-verbose`.
 */
function factorAfter(percent: number, flags: readonly string[] = []): string {
  const script = `
    import { limitHeapGrowth } from ${JSON.stringify(MODULE)};
    limitHeapGrowth(${percent});
    globalThis.gc();
  `;
  const child = spawnSync(
    process.execPath,
    [
      ...flags,
      '--expose-gc',
      '--trace-gc-verbose',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  const limits = [...child.stdout.matchAll(/\[HeapController\] Limit: .* \(([\d.]+)\)$/gm)];
  assert.ok(limits.length > 0, 'a full collection reported its new limit');
  return limits.at(-1)![1]!;
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
