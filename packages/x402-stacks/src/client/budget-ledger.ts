/**
 * The accounting of a budget, free of any storage: a list of records (reserve, consume, release, window reset) and
 * the rule that decides a new reservation from them. The memory store and the file store replay the same records
 * through the same rule, so they cannot disagree about what is spent.
 * @module
 */

/**
 * One line of a budget's history. Amounts are atomic units as digit strings, times are epoch milliseconds.
 * @example
 * ```ts
 * const record: BudgetRecord = { t: 'reserve', id: 'a1', asset: 'STX', amount: '1000', at: Date.now() };
 * ```
 */
export type BudgetRecord =
  | {
      readonly t: 'reserve';
      readonly id: string;
      readonly asset: string;
      readonly amount: string;
      readonly at: number;
    }
  | { readonly t: 'consume'; readonly id: string; readonly at: number }
  | { readonly t: 'release'; readonly id: string; readonly at: number }
  | { readonly t: 'reset'; readonly asset: string; readonly at: number };

/**
 * The caps one reservation is checked against, per asset. An absent cap is no limit.
 * @example
 * ```ts
 * const limits: BudgetLimits = { total: 1_000_000n, window: 100_000n, windowMs: 86_400_000 };
 * ```
 */
export type BudgetLimits = {
  /** All spending ever counted for the asset, atomic units. */
  readonly total?: bigint;
  /** Spending within the last `windowMs` (since the last window reset, if later), atomic units. */
  readonly window?: bigint;
  /** The length of the rolling window, milliseconds. */
  readonly windowMs: number;
};

/** The caps of a payer's budget tracker, per asset key; absent keys have no such cap. */
export type BudgetCaps = {
  readonly total: ReadonlyMap<string, bigint>;
  readonly window: ReadonlyMap<string, bigint>;
  readonly windowMs: number;
};

/**
 * What the budget of one asset holds: spent and reserved counted together (a reserved amount may have moved).
 * @example
 * ```ts
 * const { total, window, reserved } = await store.usage('STX', 86_400_000);
 * ```
 */
export type BudgetUsage = {
  /** Every amount counted for the asset, atomic units. */
  readonly total: bigint;
  /** The amounts counted within the current window, atomic units. */
  readonly window: bigint;
  /** Of `total`, what is reserved and not yet known to have been sent or settled. */
  readonly reserved: bigint;
  /** Where the current window starts, epoch milliseconds. */
  readonly windowStart: number;
};

/**
 * A refused reservation: which cap, what is counted against it, and the cap.
 * @example
 * ```ts
 * if (!decision.ok) console.log(decision.cap, decision.counted, decision.limit);
 * ```
 */
export type BudgetRefusal = {
  readonly ok: false;
  readonly cap: 'total' | 'window';
  readonly counted: bigint;
  readonly limit: bigint;
};

type Entry = { asset: string; amount: bigint; at: number; state: 'reserved' | 'consumed' };

/** The replayed state of a budget. */
export type BudgetState = {
  readonly entries: Map<string, Entry>;
  readonly resets: Map<string, number>;
};

/** An empty budget. */
export function emptyBudgetState(): BudgetState {
  return { entries: new Map(), resets: new Map() };
}

/** Applies one record. A release drops the entry; a consume keeps it counted for good. */
export function applyBudgetRecord(state: BudgetState, record: BudgetRecord): void {
  switch (record.t) {
    case 'reserve':
      state.entries.set(record.id, {
        asset: record.asset,
        amount: BigInt(record.amount),
        at: record.at,
        state: 'reserved',
      });
      return;
    case 'consume': {
      const entry = state.entries.get(record.id);
      if (entry) entry.state = 'consumed';
      return;
    }
    case 'release':
      state.entries.delete(record.id);
      return;
    case 'reset':
      state.resets.set(record.asset, Math.max(state.resets.get(record.asset) ?? 0, record.at));
      return;
  }
}

/** What is counted for `asset` at `now`. */
export function budgetUsage(
  state: BudgetState,
  asset: string,
  windowMs: number,
  now: number,
): BudgetUsage {
  const windowStart = Math.max(now - windowMs, state.resets.get(asset) ?? 0);
  let total = 0n;
  let window = 0n;
  let reserved = 0n;
  for (const entry of state.entries.values()) {
    if (entry.asset !== asset) continue;
    total += entry.amount;
    if (entry.at > windowStart) window += entry.amount;
    if (entry.state === 'reserved') reserved += entry.amount;
  }
  return { total, window, reserved, windowStart };
}

/** The cap `amount` would break, or undefined when it fits under both. */
export function budgetRefusal(
  usage: BudgetUsage,
  amount: bigint,
  limits: BudgetLimits,
): BudgetRefusal | undefined {
  if (limits.total !== undefined && usage.total + amount > limits.total) {
    return { ok: false, cap: 'total', counted: usage.total, limit: limits.total };
  }
  if (limits.window !== undefined && usage.window + amount > limits.window) {
    return { ok: false, cap: 'window', counted: usage.window, limit: limits.window };
  }
  return undefined;
}

/**
 * Reads one stored record, or undefined for a line that is not one (the caller decides what that means).
 * @example
 * ```ts
 * const record = parseBudgetRecord('{"t":"consume","id":"a1","at":1}');
 * ```
 */
export function parseBudgetRecord(line: string): BudgetRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const at = record.at;
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) return undefined;
  const text = (field: unknown) =>
    typeof field === 'string' && field.length > 0 && field.length <= 200;
  switch (record.t) {
    case 'reserve':
      if (!text(record.id) || !text(record.asset)) return undefined;
      if (typeof record.amount !== 'string' || !/^\d{1,40}$/.test(record.amount)) return undefined;
      return {
        t: 'reserve',
        id: record.id as string,
        asset: record.asset as string,
        amount: record.amount,
        at,
      };
    case 'consume':
    case 'release':
      return text(record.id) ? { t: record.t, id: record.id as string, at } : undefined;
    case 'reset':
      return text(record.asset) ? { t: 'reset', asset: record.asset as string, at } : undefined;
    default:
      return undefined;
  }
}
