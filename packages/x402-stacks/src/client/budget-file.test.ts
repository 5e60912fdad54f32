import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createFileBudgetStore } from './budget-file.js';

const DAY = 86_400_000;
const dir = () => mkdtempSync(join(tmpdir(), 'x402-budget-'));

describe('createFileBudgetStore', () => {
  test('20 reservations at once against a cap of 7 admit exactly 7, and a second store on the file agrees', async () => {
    const path = join(dir(), 'budget.jsonl');
    const store = createFileBudgetStore(path);
    const limits = { total: 7_000n, windowMs: DAY };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.reserve({ asset: 'STX', amount: 1_000n, limits })),
    );
    assert.equal(results.filter((result) => result.ok).length, 7);
    assert.deepEqual(
      results.find((result) => !result.ok),
      { ok: false, cap: 'total', counted: 7_000n, limit: 7_000n },
    );
    const again = createFileBudgetStore(path);
    assert.equal((await again.usage('STX', DAY)).total, 7_000n);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('consumed stays counted; released is given back; reserved counts until told', async () => {
    const path = join(dir(), 'budget.jsonl');
    const now = () => 5_000_000;
    const store = createFileBudgetStore(path, { now });
    const limits = { total: 3n, windowMs: DAY };
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map(() => store.reserve({ asset: 'STX', amount: 1n, limits })),
    );
    assert.ok(a?.ok && b?.ok && c?.ok);
    await store.consume(a.id);
    await store.release(b.id);
    assert.deepEqual(await createFileBudgetStore(path, { now }).usage('STX', DAY), {
      total: 2n,
      window: 2n,
      reserved: 1n,
      windowStart: 0,
    });
  });

  test('the rolling window forgets what is older than it; a reset starts it afresh; the total remembers both', async () => {
    let clock = 1_000_000;
    const path = join(dir(), 'budget.jsonl');
    const store = createFileBudgetStore(path, { now: () => clock });
    const limits = { total: 10n, window: 2n, windowMs: 1_000 };
    const reserve = () => store.reserve({ asset: 'STX', amount: 1n, limits });
    assert.ok((await reserve()).ok);
    assert.ok((await reserve()).ok);
    assert.deepEqual(await reserve(), { ok: false, cap: 'window', counted: 2n, limit: 2n });
    clock += 1_001;
    assert.ok((await reserve()).ok);
    assert.ok((await reserve()).ok);
    await store.resetWindow('STX');
    clock += 1;
    assert.ok((await reserve()).ok);
    assert.deepEqual(await store.usage('STX', 1_000), {
      total: 5n,
      window: 1n,
      reserved: 5n,
      windowStart: clock - 1,
    });
    assert.deepEqual(await store.assets(), ['STX']);
  });

  test('a torn last line (a write cut by a kill) is dropped and the journal goes on', async () => {
    const path = join(dir(), 'budget.jsonl');
    const store = createFileBudgetStore(path);
    const limits = { total: 5n, windowMs: DAY };
    const held = await store.reserve({ asset: 'STX', amount: 2n, limits });
    assert.ok(held.ok);
    appendFileSync(path, '{"t":"reserve","id":"torn","asse');
    assert.equal((await store.usage('STX', DAY)).total, 2n);
    assert.ok((await store.reserve({ asset: 'STX', amount: 3n, limits })).ok);
    assert.equal(readFileSync(path, 'utf8').split('\n').length, 3);
    assert.equal((await createFileBudgetStore(path).usage('STX', DAY)).total, 5n);
  });

  test('an unreadable record in the middle refuses with budget_store_corrupt: nothing is paid on a guess', async () => {
    const path = join(dir(), 'budget.jsonl');
    writeFileSync(path, 'not a record\n{"t":"reset","asset":"STX","at":1}\n');
    const store = createFileBudgetStore(path);
    await assert.rejects(
      store.reserve({ asset: 'STX', amount: 1n, limits: { windowMs: DAY } }),
      (error: Error & { reason?: string }) =>
        error.reason === 'budget_store_corrupt' && /line 1 of the budget file/.test(error.message),
    );
  });

  test('a lock left by a killed process is broken; a live holder makes others wait, then budget_store_busy', async () => {
    const path = join(dir(), 'budget.jsonl');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(`${path}.lock`, `${dead.stdout.toString()}:gone`);
    const store = createFileBudgetStore(path, { lockTimeoutMs: 200 });
    assert.ok((await store.reserve({ asset: 'STX', amount: 1n, limits: { windowMs: DAY } })).ok);

    // The parent of this test is alive and holds the lock for good.
    writeFileSync(`${path}.lock`, `${process.ppid}:held`);
    await assert.rejects(
      store.usage('STX', DAY),
      (error: Error & { reason?: string }) => error.reason === 'budget_store_busy',
    );
  });

  test('past compactAfter records the journal is rewritten to what still counts', async () => {
    const path = join(dir(), 'budget.jsonl');
    const store = createFileBudgetStore(path, { compactAfter: 10 });
    for (let i = 0; i < 8; i++) {
      const held = await store.reserve({ asset: 'STX', amount: 1n, limits: { windowMs: DAY } });
      assert.ok(held.ok);
      await (i % 2 === 0 ? store.release(held.id) : store.consume(held.id));
    }
    assert.equal((await store.usage('STX', DAY)).total, 4n);
    // 16 records were written; the 4 released and their releases are gone, the 4 consumed stay (8 lines at most).
    assert.ok(readFileSync(path, 'utf8').trim().split('\n').length <= 10);
    assert.equal((await createFileBudgetStore(path).usage('STX', DAY)).total, 4n);
  });

  test("a long journal is rewritten rarely, and two stores on it agree through each other's appends and rewrites", async () => {
    const path = join(dir(), 'budget.jsonl');
    // One rewrites often, the other never: each must follow what the other wrote, appended or renamed in.
    const eager = createFileBudgetStore(path, { compactAfter: 50 });
    const lazy = createFileBudgetStore(path, { compactAfter: 1_000_000 });
    const limits = { total: 1_000n, windowMs: DAY };
    // Every rewrite renames a new journal in: counted at node's fs, the module the store itself uses.
    const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
    const rename = fs.renameSync;
    let rewrites = 0;
    fs.renameSync = (from, to) => {
      if (to === path) rewrites++;
      return rename(from, to);
    };
    let admitted = 0;
    for (let i = 0; i < 600; i++) {
      const store = i % 3 === 0 ? lazy : eager;
      const held = await store.reserve({ asset: 'STX', amount: 1n, limits });
      if (!held.ok) break;
      admitted++;
      await (i % 5 === 0 ? store.release(held.id) : store.consume(held.id));
      if (i % 5 === 0) admitted--;
    }
    fs.renameSync = rename;
    assert.equal((await lazy.usage('STX', DAY)).total, BigInt(admitted));
    assert.equal((await eager.usage('STX', DAY)).total, BigInt(admitted));
    assert.equal((await createFileBudgetStore(path).usage('STX', DAY)).total, BigInt(admitted));
    // 1,200 records: rewritten each time the journal doubled since the last rewrite, not on every call past 50.
    assert.ok(rewrites >= 1, 'the eager store rewrote the journal');
    assert.ok(rewrites <= 8, `rewritten ${rewrites} times`);
  });

  test('a file that cannot be opened (no such directory) is budget_store_unavailable, naming the file', async () => {
    const path = join(dir(), 'missing', 'budget.jsonl');
    await assert.rejects(
      createFileBudgetStore(path).reserve({ asset: 'STX', amount: 1n, limits: { windowMs: DAY } }),
      (error: Error & { reason?: string }) =>
        error.reason === 'budget_store_unavailable' && error.message.includes(path),
    );
  });
});
