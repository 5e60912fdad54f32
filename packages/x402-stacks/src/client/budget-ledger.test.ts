import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fuzzRuns } from '@x402-stacks/test-kit';
import { mulberry32 } from '@x402-stacks/test-kit/fixtures';
import {
  applyBudgetRecord,
  type BudgetRecord,
  budgetUsage,
  emptyBudgetState,
} from './budget-ledger.js';

/** The rule as a plain scan of every record: what the indexed counts must always agree with. */
function referenceUsage(
  records: readonly BudgetRecord[],
  asset: string,
  windowMs: number,
  now: number,
) {
  const entries = new Map<
    string,
    { asset: string; amount: bigint; at: number; consumed: boolean }
  >();
  let reset = 0;
  for (const record of records) {
    if (record.t === 'reserve') {
      entries.set(record.id, {
        asset: record.asset,
        amount: BigInt(record.amount),
        at: record.at,
        consumed: false,
      });
    } else if (record.t === 'consume') {
      const entry = entries.get(record.id);
      if (entry) entry.consumed = true;
    } else if (record.t === 'release') {
      entries.delete(record.id);
    } else if (record.asset === asset) {
      reset = Math.max(reset, record.at);
    }
  }
  const windowStart = Math.max(now - windowMs, reset);
  let total = 0n;
  let window = 0n;
  let reserved = 0n;
  for (const entry of entries.values()) {
    if (entry.asset !== asset) continue;
    total += entry.amount;
    if (entry.at > windowStart) window += entry.amount;
    if (!entry.consumed) reserved += entry.amount;
  }
  return { total, window, reserved, windowStart };
}

describe('budget ledger counts', () => {
  test('agree with a scan of every record, whatever the order of times, ids and outcomes', () => {
    const runs = fuzzRuns(300);
    for (let run = 0; run < runs; run++) {
      const next = mulberry32(run + 1);
      const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
      const state = emptyBudgetState();
      const records: BudgetRecord[] = [];
      let clock = 1_000_000;
      for (let step = 0; step < 200; step++) {
        // Mostly forward, sometimes another process's clock a little behind.
        clock += Math.floor(next() * 1_000) - (next() < 0.1 ? 3_000 : 0);
        const id = `r${Math.floor(next() * 60)}`;
        const kind = next();
        const record: BudgetRecord =
          kind < 0.45
            ? {
                t: 'reserve',
                id,
                asset: pick(['STX', 'sBTC']),
                amount: String(1 + Math.floor(next() * 5)),
                at: clock,
              }
            : kind < 0.8
              ? { t: 'consume', id, at: clock }
              : kind < 0.97
                ? { t: 'release', id, at: clock }
                : { t: 'reset', asset: pick(['STX', 'sBTC']), at: clock };
        records.push(record);
        applyBudgetRecord(state, record);
        const asset = pick(['STX', 'sBTC']);
        const windowMs = pick([500, 5_000, 50_000, 10_000_000]);
        assert.deepEqual(
          budgetUsage(state, asset, windowMs, clock),
          referenceUsage(records, asset, windowMs, clock),
          `seed ${run + 1}, step ${step}`,
        );
      }
    }
  });
});
