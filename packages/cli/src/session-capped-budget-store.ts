/**
 * A budget store that counts each reservation twice: against this session's own caps, in memory, and in the store
 * behind it (the budget file every process shares, or this process's memory), under the caps the payer passes. A
 * reservation holds only if both take it, so `x402-stacks mcp` keeps its session cap while it shares a budget file
 * with other processes. The session cap is checked first and synchronously, so calls running side by side can never
 * overspend it together; the shared store is as atomic as it is (the file store locks across processes).
 * @module
 */
import { type BudgetStore, createMemoryBudgetStore } from 'x402-stacks/client';

/** The layered store, and what the session itself has counted. */
export type SessionCappedBudgetStore = BudgetStore & {
  /** What this session has spent or holds reserved of the asset (canonical asset key), atomic units. */
  sessionSpent(asset: string): Promise<bigint>;
};

/**
 * Puts the session caps (per canonical asset key; an asset without one is counted, never refused) in front of
 * `shared`. Reading, listing and window resets are the shared store's.
 * @example
 * ```ts
 * const store = sessionCappedBudgetStore(createFileBudgetStore(path), new Map([['STX', 1_000_000n]]));
 * const payer = createPayer(signer, { budgetStore: store, budget: { STX: 5_000_000n } });
 * ```
 */
export function sessionCappedBudgetStore(
  shared: BudgetStore,
  caps: ReadonlyMap<string, bigint>,
): SessionCappedBudgetStore {
  const session = createMemoryBudgetStore();
  // The shared store's reservation id → the session's reservation of the same payment.
  const twins = new Map<string, string>();
  return {
    async reserve(request) {
      const cap = caps.get(request.asset);
      const mine = await session.reserve({
        asset: request.asset,
        amount: request.amount,
        limits: { windowMs: request.limits.windowMs, ...(cap === undefined ? {} : { total: cap }) },
      });
      if (!mine.ok) return mine;
      let theirs: Awaited<ReturnType<BudgetStore['reserve']>>;
      try {
        theirs = await shared.reserve(request);
      } catch (error) {
        // Nothing will be signed: the session gives the amount back.
        await session.release(mine.id);
        throw error;
      }
      if (!theirs.ok) {
        await session.release(mine.id);
        return theirs;
      }
      twins.set(theirs.id, mine.id);
      return theirs;
    },
    async consume(id) {
      // The session's count is settled first: a shared store that fails here must not leave it reserved.
      const mine = twins.get(id);
      twins.delete(id);
      if (mine !== undefined) await session.consume(mine);
      await shared.consume(id);
    },
    async release(id) {
      const mine = twins.get(id);
      twins.delete(id);
      if (mine !== undefined) await session.release(mine);
      await shared.release(id);
    },
    usage: (asset, windowMs) => shared.usage(asset, windowMs),
    assets: () => shared.assets(),
    resetWindow: (asset) => shared.resetWindow(asset),
    async sessionSpent(asset) {
      return (await session.usage(asset, 1)).total;
    },
  };
}
