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

/**
 * What one asset counts, kept as the records are applied so that a reservation costs O(log n), not a scan of every
 * payment ever made: an agent paying thousands of requests asks the budget before each. Consumed amounts stay in
 * time order with running sums (the window's share is a binary search); reserved ones are few and scanned.
 */
type AssetCounts = {
  /** Times of the consumed entries, ascending, and the running sum of their amounts up to each. */
  consumedAt: number[];
  consumedSums: bigint[];
  reserved: Set<Entry>;
};

/** The replayed state of a budget. */
export type BudgetState = {
  readonly entries: Map<string, Entry>;
  readonly resets: Map<string, number>;
  readonly counts: Map<string, AssetCounts>;
};

/** An empty budget. */
export function emptyBudgetState(): BudgetState {
  return { entries: new Map(), resets: new Map(), counts: new Map() };
}

/** Applies one record. A release drops the entry; a consume keeps it counted for good. */
export function applyBudgetRecord(state: BudgetState, record: BudgetRecord): void {
  switch (record.t) {
    case 'reserve': {
      if (state.entries.has(record.id)) uncount(state, state.entries.get(record.id)!);
      const entry: Entry = {
        asset: record.asset,
        amount: BigInt(record.amount),
        at: record.at,
        state: 'reserved',
      };
      state.entries.set(record.id, entry);
      countsOf(state, entry.asset).reserved.add(entry);
      return;
    }
    case 'consume': {
      const entry = state.entries.get(record.id);
      if (!entry || entry.state === 'consumed') return;
      const counts = countsOf(state, entry.asset);
      counts.reserved.delete(entry);
      entry.state = 'consumed';
      insertConsumed(counts, entry);
      return;
    }
    case 'release': {
      const entry = state.entries.get(record.id);
      if (!entry) return;
      state.entries.delete(record.id);
      uncount(state, entry);
      return;
    }
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
  const counts = state.counts.get(asset);
  if (!counts) return { total: 0n, window: 0n, reserved: 0n, windowStart };
  const { consumedAt, consumedSums } = counts;
  const consumed = consumedSums.length === 0 ? 0n : consumedSums[consumedSums.length - 1]!;
  // The consumed entries at or before the window's start: the first `before` of them.
  const before = firstAfter(consumedAt, windowStart);
  let window = consumed - (before === 0 ? 0n : consumedSums[before - 1]!);
  let reserved = 0n;
  for (const entry of counts.reserved) {
    reserved += entry.amount;
    if (entry.at > windowStart) window += entry.amount;
  }
  return { total: consumed + reserved, window, reserved, windowStart };
}

function countsOf(state: BudgetState, asset: string): AssetCounts {
  let counts = state.counts.get(asset);
  if (!counts) {
    counts = { consumedAt: [], consumedSums: [], reserved: new Set() };
    state.counts.set(asset, counts);
  }
  return counts;
}

/** Adds a consumed entry in time order; one older than the newest (another process's clock) shifts the sums after it. */
function insertConsumed(counts: AssetCounts, entry: Entry): void {
  const { consumedAt, consumedSums } = counts;
  const at = firstAfter(consumedAt, entry.at);
  const base = at === 0 ? 0n : consumedSums[at - 1]!;
  consumedAt.splice(at, 0, entry.at);
  consumedSums.splice(at, 0, base + entry.amount);
  for (let i = at + 1; i < consumedSums.length; i++) consumedSums[i]! += entry.amount;
}

/** Takes an entry out of the counts (released, or replaced by a reservation under the same id). */
function uncount(state: BudgetState, entry: Entry): void {
  const counts = countsOf(state, entry.asset);
  if (entry.state === 'reserved') {
    counts.reserved.delete(entry);
    return;
  }
  const { consumedAt, consumedSums } = counts;
  // Any consumed entry with the same time and amount stands for it: the sums only need one of them gone.
  let at = firstAfter(consumedAt, entry.at) - 1;
  while (at >= 0 && consumedAt[at] === entry.at) {
    const amount = consumedSums[at]! - (at === 0 ? 0n : consumedSums[at - 1]!);
    if (amount === entry.amount) break;
    at--;
  }
  if (at < 0 || consumedAt[at] !== entry.at) return;
  consumedAt.splice(at, 1);
  consumedSums.splice(at, 1);
  for (let i = at; i < consumedSums.length; i++) consumedSums[i]! -= entry.amount;
}

/** The index of the first time after `at` in ascending `times` (their length when none is). */
function firstAfter(times: readonly number[], at: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (times[middle]! <= at) low = middle + 1;
    else high = middle;
  }
  return low;
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
