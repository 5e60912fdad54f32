/**
 * Review (issue 15), an attack on the budget journal: an append that the kernel writes only in part (a full disk, a
 * file size limit) is reported as a reservation that holds, because the byte count `writeSync` returns is not
 * checked. Only a torn fragment of the record is on disk; the next load drops it as "a write cut by a kill", and the
 * amount the caller was told is counted (and may have been signed and paid) is counted nowhere: the cap is granted
 * again. The file size limit of a child process (`ulimit -f`) makes the short write happen for real.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createFileBudgetStore } from './budget-file.js';

const DAY = 86_400_000;
const LIMIT_KIB = 1024;

/** A journal of valid records that ends 40 bytes short of the size limit: the next reserve record straddles it. */
function journalJustUnderTheLimit(path: string): void {
  const limit = LIMIT_KIB * 1024;
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; ; i++) {
    const line = `${JSON.stringify({ t: 'reset', asset: `${'A'.repeat(150)}${i}`, at: 1 })}\n`;
    if (size + line.length > limit - 40) break;
    lines.push(line);
    size += line.length;
  }
  const frame = JSON.stringify({ t: 'reset', asset: '', at: 1 }).length + 1;
  lines.push(
    `${JSON.stringify({ t: 'reset', asset: 'B'.repeat(limit - 40 - size - frame), at: 1 })}\n`,
  );
  writeFileSync(path, lines.join(''), { mode: 0o600 });
}

describe('createFileBudgetStore under a short write', () => {
  test('a reservation reported as held is still counted when its record was written only in part', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-budget-short-'));
    const path = join(dir, 'budget.jsonl');
    journalJustUnderTheLimit(path);
    const module = join(dirname(fileURLToPath(import.meta.url)), 'budget-file.ts');
    const script = join(dir, 'reserve.mts');
    writeFileSync(
      script,
      `import { createFileBudgetStore } from ${JSON.stringify(module)};
const store = createFileBudgetStore(${JSON.stringify(path)}, { compactAfter: 1e9 });
try {
  const held = await store.reserve({ asset: 'STX', amount: 1000n, limits: { total: 1000n, windowMs: ${DAY} } });
  console.log(JSON.stringify({ ok: held.ok }));
} catch (error) {
  console.log(JSON.stringify({ threw: error.reason ?? String(error) }));
}
`,
    );
    const child = spawnSync(
      'bash',
      ['-c', `ulimit -f ${LIMIT_KIB}; exec "$0" --import tsx "$1"`, process.execPath, script],
      { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8' },
    );
    const told = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as {
      ok?: boolean;
      threw?: string;
    };
    assert.ok(told.ok !== undefined || told.threw !== undefined, `child: ${child.stderr}`);
    if (told.ok) {
      // The caller was told 1,000 is reserved under a cap of 1,000: nothing more may fit.
      const store = createFileBudgetStore(path, { compactAfter: 1e9 });
      assert.equal((await store.usage('STX', DAY)).total, 1000n);
      const again = await store.reserve({
        asset: 'STX',
        amount: 1000n,
        limits: { total: 1000n, windowMs: DAY },
      });
      assert.equal(again.ok, false, 'the same 1,000 was granted twice under a cap of 1,000');
    }
  });
});
