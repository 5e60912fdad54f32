import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { limitHeapGrowth } from '../src/heap-growth.js';

const MODULE = fileURLToPath(new URL('../src/heap-growth.ts', import.meta.url));

/**
 * Full collections in a child process that keeps 250,000 objects alive and churns through medium-lived ones: a fixed
 * amount of work, so the count depends only on when V8 decides to collect.
 */
function fullCollections(percent: number | undefined): number {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { limitHeapGrowth } from ${JSON.stringify(MODULE)};
    if (${percent ?? -1} >= 0) limitHeapGrowth(${percent ?? -1});
    let full = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
    });
    observer.observe({ entryTypes: ['gc'] });
    const live = Array.from({ length: 250_000 }, (_, i) => ({ i, s: 'live' + i }));
    let held = [];
    for (let round = 0; round < 1_500; round++) {
      for (let i = 0; i < 2_000; i++) held.push({ i, s: 'x' + i, b: [i, i, i, i] });
      if (held.length > 60_000) held = [];
    }
    setTimeout(() => { observer.disconnect(); console.log(JSON.stringify({ full, live: live.length })); }, 50);
  `;
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout).full;
}

describe('limitHeapGrowth', () => {
  test('a fixed factor collects the old generation more often than V8 left to itself', () => {
    const own = fullCollections(undefined);
    const fixed = fullCollections(30);
    assert.ok(fixed >= 2 * own, `${fixed} full collections at 30 %, ${own} by default`);
    // 0 hands the choice back to V8.
    assert.ok(fullCollections(0) <= own + 1);
  });

  test('the flag is one this Node understands (an unknown V8 flag would be ignored without a word at run time)', () => {
    const known = spawnSync(process.execPath, ['--heap-growing-percent=30', '-e', '0']);
    assert.equal(known.status, 0);
    const unknown = spawnSync(process.execPath, ['--heap-growing-percentage=30', '-e', '0']);
    assert.notEqual(unknown.status, 0);
  });

  test('refuses a negative or fractional percent', () => {
    assert.throws(() => limitHeapGrowth(-1), RangeError);
    assert.throws(() => limitHeapGrowth(1.5), RangeError);
  });
});
