/**
 * The answer of the `budget` tool of `x402-stacks mcp`: per asset, what the session has spent against its cap, what
 * every payment counted in the budget file has spent against the file's caps (when a file is configured: the file
 * holds what other processes and earlier sessions spent too), the window, and the one figure an agent needs, what is
 * `left` for the next payment under all of them at once.
 * @module
 */
import { DEFAULT_MAX_AMOUNT } from 'x402-stacks/client';
import { assetKey, formatAmount, resolveAsset, type StacksAsset } from 'x402-stacks/stacks';
import type { McpCommandOptions } from './mcp-config.js';
import type { AgentWallet } from './mcp-wallet.js';

type AmountView = { atomic: string; formatted: string };

/** Spending against one cap; `budget` and `left` are null when there is no such cap. */
type CapView = { budget: AmountView | null; spent: AmountView; left: AmountView | null };

/** What `budget` answers for one asset. */
type AssetBudgetView = {
  /** What the budget file counts when one is configured (everyone's), else what this session spent. */
  spent: AmountView;
  /** What every total and window cap leaves at once; null when no cap applies to the asset. */
  left: AmountView | null;
  /** Whether the asset is paid at all: with `--max-amount`, only the assets it names are. */
  payable: boolean;
  session: CapView;
  /** Every payment counted in the budget file, of any process, reserved ones included. */
  file?: CapView & { reserved: AmountView };
  /** The rolling window's cap: counted in the file, or in this session without one. */
  window?: CapView & { since: string };
  maxPerPayment?: AmountView;
};

/**
 * Reads the budget of every asset with a cap (the session's, the file's or the window's).
 * @throws {BudgetStoreError} when the budget file cannot be read.
 * @example
 * ```ts
 * const { assets } = await budgetReport(wallet, options);
 * assets.STX?.left; // { atomic: '999000', formatted: '0.999 STX' }
 * ```
 */
export async function budgetReport(
  wallet: AgentWallet,
  options: McpCommandOptions,
): Promise<{
  budgetFile: string | null;
  windowMs: number;
  assets: Record<string, AssetBudgetView>;
}> {
  const settings = options.budgetSettings;
  const symbols = [
    ...new Set([
      ...Object.keys(options.budget),
      ...Object.keys(settings.total),
      ...Object.keys(settings.window),
    ]),
  ];
  const assets: Record<string, AssetBudgetView> = {};
  for (const symbol of symbols) {
    const asset = resolveAsset(symbol, options.network);
    const view = (atomic: bigint) => amountView(atomic, asset);
    const key = assetKey(asset);
    const sessionSpent = await wallet.budgetStore.sessionSpent(key);
    const counted = await wallet.budgetStore.usage(key, settings.windowMs);
    const session = capView(sessionSpent, options.budget[symbol], view);
    // Without a file, the store behind the session cap is this process's memory: it counts what the session does.
    const file =
      settings.file === undefined
        ? undefined
        : {
            ...capView(counted.total, settings.total[symbol], view),
            reserved: view(counted.reserved),
          };
    const windowCap = settings.window[symbol];
    const window =
      windowCap === undefined
        ? undefined
        : {
            ...capView(counted.window, windowCap, view),
            since: new Date(counted.windowStart).toISOString(),
          };
    // The smallest of what each cap leaves (bigints: Math.min does not take them).
    let left: bigint | undefined;
    for (const cap of [session, file, window]) {
      if (!cap?.left) continue;
      const atomic = BigInt(cap.left.atomic);
      if (left === undefined || atomic < left) left = atomic;
    }
    // The payer's own rule: --max-amount, when given, names the only assets paid; else the library's defaults apply.
    const max = options.maxAmount
      ? options.maxAmount[symbol]
      : DEFAULT_MAX_AMOUNT[symbol as keyof typeof DEFAULT_MAX_AMOUNT];
    assets[symbol] = {
      spent: file ? file.spent : session.spent,
      left: left === undefined ? null : view(left),
      payable: max !== undefined,
      session,
      ...(file ? { file } : {}),
      ...(window ? { window } : {}),
      ...(max === undefined ? {} : { maxPerPayment: view(max) }),
    };
  }
  return { budgetFile: settings.file ?? null, windowMs: settings.windowMs, assets };
}

function capView(
  spent: bigint,
  cap: bigint | undefined,
  view: (atomic: bigint) => AmountView,
): CapView {
  return {
    budget: cap === undefined ? null : view(cap),
    spent: view(spent),
    left: cap === undefined ? null : view(cap > spent ? cap - spent : 0n),
  };
}

function amountView(atomic: bigint, asset: StacksAsset): AmountView {
  return { atomic: atomic.toString(), formatted: formatAmount(atomic, asset) };
}
