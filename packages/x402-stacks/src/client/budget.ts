/**
 * The running total against the budget. An amount is reserved before signing, so parallel requests can never
 * overspend together, and released only when the payment certainly did not move money.
 * @module
 */
import { assetKey, type StacksAsset } from '../stacks/assets.js';
import { formatAmount } from '../stacks/units.js';
import type { PolicyRefusal } from './policy.js';

/** A reserved amount: `release()` gives it back (idempotent). */
export type BudgetReservation = { release(): void };

/** Spending per asset key, against the budget. */
export type BudgetTracker = {
  /** Reserves `amount` of the asset, or says which limit it would break. */
  reserve(asset: StacksAsset, amount: bigint): BudgetReservation | PolicyRefusal;
  /** What has been spent or is reserved for the asset, atomic units. */
  spent(assetKey: string): bigint;
};

/**
 * Creates the tracker for a budget per asset key; assets without a budget are tracked but never refused.
 * @example
 * ```ts
 * const tracker = createBudgetTracker(new Map([['STX', 10_000n]]));
 * const held = tracker.reserve(STX_ASSET, 4_000n); // a reservation
 * ```
 */
export function createBudgetTracker(budget: ReadonlyMap<string, bigint>): BudgetTracker {
  const spent = new Map<string, bigint>();
  return {
    reserve(asset, amount) {
      const key = assetKey(asset);
      const already = spent.get(key) ?? 0n;
      const limit = budget.get(key);
      if (limit !== undefined && already + amount > limit) {
        const shown = (value: bigint) => formatAmount(value, asset);
        return {
          reason: 'payment_over_budget',
          message: `${shown(amount)} would bring the total to ${shown(already + amount)}, above the budget of ${shown(limit)} (${shown(limit - already)} left)`,
          limit,
        };
      }
      spent.set(key, already + amount);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          spent.set(key, (spent.get(key) ?? 0n) - amount);
        },
      };
    },
    spent: (key) => spent.get(key) ?? 0n,
  };
}
