import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runFixture } from './run-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/logging.ts', import.meta.url));

const run = (mode: 'lines' | 'gone' | 'exit' | 'behind' | 'behind-late' | 'quiet') =>
  runFixture(fixture, [mode], {
    closeStdout: mode === 'gone' || mode === 'exit',
    ...(mode.startsWith('behind') ? { stallStdoutMs: 1_000 } : {}),
  });

test('every line held reaches the reader, in order, by the flush', async () => {
  const { code, out, err } = await run('lines');
  assert.equal(err, '');
  assert.equal(code, 0);
  assert.deepEqual(
    out.split('\n').slice(0, -1),
    Array.from({ length: 2_000 }, (_, i) => `line ${i}`),
  );
});

test("a quiet process's few lines reach the reader within a moment, with no flush and no more lines", async () => {
  const { code, out, err } = await run('quiet');
  assert.equal(err, '');
  assert.equal(code, 0);
  assert.equal(out, 'line 0\nline 1\nline 2\n');
});

test('a reader that went away costs the lines, never the process: flushes end at once, and it exits 0', async () => {
  const { code, err, ms } = await run('gone');
  assert.equal(err, '');
  assert.equal(code, 0);
  // Two flushes of up to 5 s each would have run out their bounds had a failed write left them waiting.
  assert.ok(ms < 4_000, `ran ${Math.round(ms)} ms`);
});

test('a process whose reader went away exits at once, with lines held and none tried', async () => {
  // pino's own destination wrote what it held synchronously at exit, retrying the failed write forever.
  const { code, err, ms } = await run('exit');
  assert.equal(err, '');
  assert.equal(code, 0);
  assert.ok(ms < 4_000, `ran ${Math.round(ms)} ms`);
});

for (const mode of ['behind', 'behind-late'] as const) {
  test(`a reader that is behind gets every line, in order: the writes it cannot take yet are tried again (${mode})`, async () => {
    // behind-late flushes while a retry already waits: the flush must keep the process alive for it.
    const { code, out, err } = await run(mode);
    assert.equal(err, '');
    assert.equal(code, 0);
    const lines = out.split('\n').slice(0, -1);
    assert.equal(lines.length, 200_000);
    assert.ok(
      lines.every((line, i) => line === `line ${i}`),
      'every line once, in order',
    );
  });
}
