/**
 * The running total against the budget. An amount is reserved before signing, so parallel requests can never
 * overspend together; it is consumed (counted for good) once the payment may have left the process, and released
 * only when the payment provably never did. Where the counts live is a {@link BudgetStore}: in memory by default, or
 * shared by several processes (`createFileBudgetStore`).
 * @module
 */
import { assetKey, type StacksAsset } from '../stacks/assets.js';
import { formatAmount } from '../stacks/units.js';
import {
  applyBudgetRecord,
  type BudgetCaps,
  type BudgetLimits,
  type BudgetRefusal,
  type BudgetUsage,
  budgetRefusal,
  budgetUsage,
  emptyBudgetState,
} from './budget-ledger.js';
import type { PolicyRefusal } from './policy.js';

/**
 * Where budget counts live. Every method is atomic against every other user of the same store, in this process and,
 * for a shared store, in others: two reservations never both fit under a cap that holds one.
 * @example
 * ```ts
 * const store: BudgetStore = createMemoryBudgetStore();
 * const held = await store.reserve({ asset: 'STX', amount: 1_000n, limits: { total: 10_000n, windowMs: 86_400_000 } });
 * if (held.ok) await store.consume(held.id);
 * ```
 */
export type BudgetStore = {
  /** Counts `amount` against the asset if it fits under both caps; else says which cap it would break. */
  reserve(request: {
    readonly asset: string;
    readonly amount: bigint;
    readonly limits: BudgetLimits;
  }): Promise<{ readonly ok: true; readonly id: string } | BudgetRefusal>;
  /** The reserved amount may have been spent: it stays counted for good. */
  consume(id: string): Promise<void>;
  /** The reserved amount provably never left: it is no longer counted. */
  release(id: string): Promise<void>;
  /** What is counted for the asset (canonical asset key) with a window of `windowMs`. */
  usage(asset: string, windowMs: number): Promise<BudgetUsage>;
  /** The asset keys with anything recorded. */
  assets(): Promise<readonly string[]>;
  /** Starts the asset's window afresh: what was counted before now no longer counts against the window cap. */
  resetWindow(asset: string): Promise<void>;
};

/**
 * A budget store in this process's memory: it holds for one payer (or every payer given it) until the process ends.
 * @example
 * ```ts
 * const fetchWithPayment = wrapFetchWithPayment(fetch, account, { budget: { STX: 1_000_000n }, budgetStore: createMemoryBudgetStore() });
 * ```
 */
export function createMemoryBudgetStore(options: { now?: () => number } = {}): BudgetStore {
  const now = options.now ?? Date.now;
  const state = emptyBudgetState();
  let counter = 0;
  return {
    async reserve({ asset, amount, limits }) {
      const refusal = budgetRefusal(
        budgetUsage(state, asset, limits.windowMs, now()),
        amount,
        limits,
      );
      if (refusal) return refusal;
      const id = `m${++counter}`;
      applyBudgetRecord(state, { t: 'reserve', id, asset, amount: amount.toString(), at: now() });
      return { ok: true, id };
    },
    async consume(id) {
      applyBudgetRecord(state, { t: 'consume', id, at: now() });
    },
    async release(id) {
      applyBudgetRecord(state, { t: 'release', id, at: now() });
    },
    async usage(asset, windowMs) {
      return budgetUsage(state, asset, windowMs, now());
    },
    async assets() {
      return [...new Set([...state.entries.values()].map((entry) => entry.asset))].sort();
    },
    async resetWindow(asset) {
      applyBudgetRecord(state, { t: 'reset', asset, at: now() });
    },
  };
}

/**
 * A reserved amount: `consume()` keeps it counted, `release()` gives it back; the first call wins.
 * @example
 * ```ts
 * // the payment may have left the process: keep it counted; it provably never did: give it back
 * await (sent ? reservation.consume() : reservation.release());
 * ```
 */
export type BudgetReservation = {
  consume(): Promise<void>;
  release(): Promise<void>;
};

/** Spending per asset key, against the budget. */
export type BudgetTracker = {
  /** Reserves `amount` of the asset, or says which limit it would break. */
  reserve(asset: StacksAsset, amount: bigint): Promise<BudgetReservation | PolicyRefusal>;
  /** What this tracker has counted for the asset (spent or reserved), atomic units. */
  spent(assetKey: string): bigint;
};

/**
 * Creates the tracker for caps per asset key over a store; assets without a cap are counted but never refused.
 * @example
 * ```ts
 * const tracker = createBudgetTracker({ total: new Map([['STX', 10_000n]]), window: new Map(), windowMs: 86_400_000 });
 * const held = await tracker.reserve(STX_ASSET, 4_000n); // a reservation
 * ```
 */
export function createBudgetTracker(
  caps: BudgetCaps,
  store: BudgetStore = createMemoryBudgetStore(),
): BudgetTracker {
  const counted = new Map<string, bigint>();
  const add = (key: string, amount: bigint) => counted.set(key, (counted.get(key) ?? 0n) + amount);
  return {
    async reserve(asset, amount) {
      const key = assetKey(asset);
      const total = caps.total.get(key);
      const window = caps.window.get(key);
      const limits: BudgetLimits = {
        windowMs: caps.windowMs,
        ...(total === undefined ? {} : { total }),
        ...(window === undefined ? {} : { window }),
      };
      const held = await store.reserve({ asset: key, amount, limits });
      if (!held.ok) return refusalOf(held, amount, asset);
      add(key, amount);
      let settled = false;
      return {
        async consume() {
          if (settled) return;
          settled = true;
          // Should the store fail here, the reservation stays recorded, and a reserved amount is counted anyway.
          await store.consume(held.id).catch(() => undefined);
        },
        async release() {
          if (settled) return;
          settled = true;
          add(key, -amount);
          // Should the store fail here, the amount stays counted: too much counted, never too little.
          await store.release(held.id).catch(() => undefined);
        },
      };
    },
    spent: (key) => counted.get(key) ?? 0n,
  };
}

function refusalOf(refusal: BudgetRefusal, amount: bigint, asset: StacksAsset): PolicyRefusal {
  const shown = (value: bigint) => formatAmount(value, asset);
  const left = refusal.limit > refusal.counted ? refusal.limit - refusal.counted : 0n;
  const which = refusal.cap === 'total' ? 'the budget' : 'the budget of the window';
  return {
    reason: refusal.cap === 'total' ? 'payment_over_budget' : 'payment_over_window_budget',
    message: `${shown(amount)} would bring the ${refusal.cap === 'total' ? 'total' : "window's total"} to ${shown(refusal.counted + amount)}, above ${which} of ${shown(refusal.limit)} (${shown(left)} left)`,
    limit: refusal.limit,
  };
}
