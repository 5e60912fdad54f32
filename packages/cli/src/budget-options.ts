/**
 * The budget flags and environment variables that `pay` and `budget` share: caps in whole units per asset, the
 * rolling window, and the budget file several buyer processes count in together.
 * @module
 */
import type { StacksNetworkName } from 'x402-stacks';
import { createFileBudgetStore, type PaymentOptions } from 'x402-stacks/client';
import { KNOWN_TOKENS, resolveAsset, toAtomic } from 'x402-stacks/stacks';
import { UsageError } from './io.js';

/** The flags, in `parseArgs` form. */
export const BUDGET_FLAGS = {
  budget: { type: 'string', multiple: true },
  'window-budget': { type: 'string', multiple: true },
  'budget-window': { type: 'string' },
  'budget-file': { type: 'string' },
} as const;

/** The help lines of the flags. */
export const BUDGET_USAGE = `  --budget <amount>        total all payments counted in the budget file may spend in one asset, in whole units
                           ('5STX', '0.001 sBTC'); repeatable or comma-separated, one per asset (env X402_BUDGET)
  --window-budget <amount> what they may spend within the rolling window, per asset, like --budget
                           (env X402_WINDOW_BUDGET)
  --budget-window <time>   the length of the window: '24h', '30m', '7d', '90s' or milliseconds (default 24h;
                           env X402_BUDGET_WINDOW)
  --budget-file <path>     the budget journal shared by every process given the same path: each payment is
                           counted there before it is signed (env X402_BUDGET_FILE; default: this run only)`;

/** What the budget flags resolved to. */
export type BudgetSettings = {
  total: Record<string, bigint>;
  window: Record<string, bigint>;
  windowMs: number;
  file: string | undefined;
};

type BudgetValues = {
  budget?: string[] | undefined;
  'window-budget'?: string[] | undefined;
  'budget-window'?: string | undefined;
  'budget-file'?: string | undefined;
};

/**
 * Reads the budget flags, falling back to the environment.
 * @throws {UsageError}
 */
export function readBudgetSettings(
  values: BudgetValues,
  env: NodeJS.ProcessEnv,
  network: StacksNetworkName,
): BudgetSettings {
  // A flag is repeatable and, like its variable, may also hold a comma-separated list ('1STX, 0.001sBTC').
  const list = (flag: string[] | undefined, variable: string | undefined) =>
    (flag ?? (variable ? [variable] : []))
      .flatMap((value) => value.split(','))
      .filter((part) => part.trim() !== '');
  return {
    total: readAssetAmounts(list(values.budget, env.X402_BUDGET), '--budget', network),
    window: readAssetAmounts(
      list(values['window-budget'], env.X402_WINDOW_BUDGET),
      '--window-budget',
      network,
    ),
    windowMs: readDuration(values['budget-window'] ?? (env.X402_BUDGET_WINDOW || '24h')),
    file: values['budget-file'] ?? (env.X402_BUDGET_FILE || undefined),
  };
}

/** The payer options of the settings. */
export function budgetPaymentOptions(settings: BudgetSettings): PaymentOptions {
  return {
    budget: settings.total,
    windowBudget: settings.window,
    budgetWindowMs: settings.windowMs,
    ...(settings.file === undefined ? {} : { budgetStore: createFileBudgetStore(settings.file) }),
  };
}

/**
 * Reads amounts in whole units with their asset ('0.01STX', '0.0001 sBTC', '2 USDCx'), keyed by symbol.
 * @throws {UsageError} `duplicate_asset` for an asset named twice; `usage_error` for anything not an amount.
 */
export function readAssetAmounts(
  values: readonly string[],
  flag: string,
  network: StacksNetworkName,
): Record<string, bigint> {
  const amounts: Record<string, bigint> = {};
  for (const value of values) {
    const match = /^(\d+(?:\.\d+)?)\s*(STX|sBTC|USDCx)$/i.exec(value.trim());
    if (!match) {
      throw new UsageError(
        `${flag} '${value}' is not an amount and an asset, such as '0.01STX' or '0.0001 sBTC'`,
      );
    }
    const asset = resolveAsset(match[2]!, network);
    const symbol = asset.symbol ?? 'STX';
    if (Object.hasOwn(amounts, symbol)) {
      // Which of two amounts was meant is not ours to guess: the later one could be the larger.
      throw new UsageError(
        `${flag} names ${symbol} twice ('${value.trim()}'): give one amount per asset`,
        'duplicate_asset',
      );
    }
    const decimals = symbol === 'STX' ? 6 : KNOWN_TOKENS[symbol].decimals;
    try {
      amounts[symbol] = toAtomic(match[1]!, decimals);
    } catch {
      throw new UsageError(`${flag} '${value}': ${symbol} has ${decimals} decimals at most`);
    }
  }
  return amounts;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Reads a duration: digits with a unit (ms, s, m, h, d), or bare milliseconds.
 * @throws {UsageError}
 */
export function readDuration(value: string): number {
  const match = /^(\d{1,12})\s*(ms|s|m|h|d)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2] ?? 'ms']! : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new UsageError(
      `--budget-window '${value}' is not a duration such as '24h', '30m', '7d' or '90s'`,
    );
  }
  return ms;
}
