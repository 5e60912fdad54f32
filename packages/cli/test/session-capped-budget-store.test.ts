/**
 * The session cap in front of a real budget file (`createFileBudgetStore` in a temporary directory): a reservation
 * holds only if both the session and the file take it; calls side by side never overspend the session; a refusal or
 * a failure of the file gives the session its amount back; and a second session on the same file starts afresh
 * while the file keeps counting.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type BudgetStore, createFileBudgetStore } from 'x402-stacks/client';
import { sessionCappedBudgetStore } from '../src/session-capped-budget-store.js';

const dir = mkdtempSync(join(tmpdir(), 'x402-session-cap-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

test('the session cap holds on a file without a total cap, and side by side never overspends', async () => {
  const file = createFileBudgetStore(join(dir, 'uncapped.jsonl'));
  const store = sessionCappedBudgetStore(file, new Map([['STX', 2_500n]]));
  const tries = await Promise.all(
    Array.from({ length: 6 }, () =>
      store.reserve({ asset: 'STX', amount: 1_000n, limits: { windowMs: DAY } }),
    ),
  );
  const held = tries.filter((attempt) => attempt.ok);
  assert.equal(held.length, 2);
  const refused = tries.find((attempt) => !attempt.ok);
  assert.deepEqual(refused, { ok: false, cap: 'total', counted: 2_000n, limit: 2_500n });
  assert.equal(await store.sessionSpent('STX'), 2_000n);
  // The file counted only what the session let through.
  assert.equal((await file.usage('STX', DAY)).total, 2_000n);
  // An asset without a session cap is counted, never refused by the session.
  assert.ok((await store.reserve({ asset: 'sBTC', amount: 10n, limits: { windowMs: DAY } })).ok);
});

test("the file's cap refuses and the session gets its amount back; a new session on the file starts afresh", async () => {
  const path = join(dir, 'shared.jsonl');
  const first = sessionCappedBudgetStore(createFileBudgetStore(path), new Map([['STX', 5_000n]]));
  const limits = { total: 1_500n, windowMs: DAY };
  const paid = await first.reserve({ asset: 'STX', amount: 1_000n, limits });
  assert.ok(paid.ok);
  await first.consume(paid.id);

  const second = sessionCappedBudgetStore(createFileBudgetStore(path), new Map([['STX', 5_000n]]));
  const refused = await second.reserve({ asset: 'STX', amount: 1_000n, limits });
  assert.deepEqual(refused, { ok: false, cap: 'total', counted: 1_000n, limit: 1_500n });
  assert.equal(
    await second.sessionSpent('STX'),
    0n,
    'the refused amount is not held by the session',
  );
  assert.equal((await second.usage('STX', DAY)).total, 1_000n);
  const fits = await second.reserve({ asset: 'STX', amount: 500n, limits });
  assert.ok(fits.ok);
  await second.release(fits.id);
  assert.equal(await second.sessionSpent('STX'), 0n, 'released in the session');
  assert.equal((await second.usage('STX', DAY)).total, 1_000n, 'and in the file');
});

test('a shared store that fails leaves nothing held in the session', async () => {
  const failing: BudgetStore = {
    ...createFileBudgetStore(join(dir, 'unused.jsonl')),
    reserve: async () => {
      throw new Error('disk gone');
    },
  };
  const store = sessionCappedBudgetStore(failing, new Map([['STX', 1_000n]]));
  await assert.rejects(
    store.reserve({ asset: 'STX', amount: 1_000n, limits: { windowMs: DAY } }),
    /disk gone/,
  );
  assert.equal(await store.sessionSpent('STX'), 0n);
});
