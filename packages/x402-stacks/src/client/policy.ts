/**
 * The spending policy: which assets and recipients a buyer pays, how much per payment, and how much in total. The
 * options are checked once, when the wrapper is created, against the account's network (the only one it pays on).
 * @module
 */
import { parsePrincipal } from '../stacks/address.js';
import { assetKey, type ResolveAssetOptions, resolveAsset } from '../stacks/assets.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { PaymentTerms } from '../stacks/payment/terms.js';
import { formatAmount, parseAtomic } from '../stacks/units.js';
import type { BudgetCaps } from './budget-ledger.js';
import { PayerOptionsError, type PolicyReason } from './errors.js';

/**
 * The default length of the rolling budget window: a day, in milliseconds.
 * @example
 * ```ts
 * const options = { windowBudget: { STX: 1_000_000n }, budgetWindowMs: DEFAULT_BUDGET_WINDOW_MS };
 * ```
 */
export const DEFAULT_BUDGET_WINDOW_MS = 86_400_000;

/**
 * An amount in the asset's atomic units: a bigint, a digit string, or a safe integer. Never a decimal fraction.
 * @example
 * ```ts
 * const price: AtomicAmountInput = '2500'; // the same as 2500n or 2500
 * const fees: FeeOptions = { maxFee: price };
 * ```
 */
export type AtomicAmountInput = bigint | string | number;

/**
 * Amounts keyed by asset: `'STX'`, `'sBTC'`, `'USDCx'`, or a SIP-010 contract id (`<address>.<contract>`, optionally
 * with `::<asset name>`).
 * @example
 * ```ts
 * const limits: AssetAmounts = { STX: 50_000n, sBTC: '1000' };
 * ```
 */
export type AssetAmounts = Readonly<Record<string, AtomicAmountInput>>;

/**
 * The maximum per payment when `maxAmount` names no other: 1 STX, 10,000 sats (0.0001 BTC) and 1 USDCx. An asset
 * with no maximum is never paid, so a server cannot make an agent pay in a token nobody chose.
 * @example
 * ```ts
 * DEFAULT_MAX_AMOUNT.STX; // 1000000n
 * ```
 */
export const DEFAULT_MAX_AMOUNT: Readonly<Record<'STX' | 'sBTC' | 'USDCx', bigint>> = Object.freeze(
  {
    STX: 1_000_000n,
    sBTC: 10_000n,
    USDCx: 1_000_000n,
  },
);

/**
 * The policy options of `PaymentOptions`, as given.
 * @example
 * ```ts
 * const policy: SpendingPolicyOptions = { maxAmount: { sBTC: 500n }, allowedAssets: ['sBTC'] };
 * ```
 */
export type SpendingPolicyOptions = {
  /** Largest amount of one payment, per asset. Merged over {@link DEFAULT_MAX_AMOUNT}. */
  maxAmount?: AssetAmounts;
  /**
   * Total that all payments counted in the budget store may spend, per asset (the store is this wrapper's own unless
   * `budgetStore` shares one). Default: no total limit.
   */
  budget?: AssetAmounts;
  /** What the payments counted in the budget store may spend within any rolling `budgetWindowMs`, per asset. */
  windowBudget?: AssetAmounts;
  /** The length of the rolling window of `windowBudget`, ms. Default 86,400,000 (a day). */
  budgetWindowMs?: number;
  /** Recipients that may be paid. Default: any. */
  allowedPayTo?: readonly string[];
  /** Assets that may be paid (same spellings as `maxAmount`). Default: every asset with a maximum. */
  allowedAssets?: readonly string[];
};

/** A policy refusal: which limit, why, and the limit when it is an amount. */
export type PolicyRefusal = {
  readonly reason: PolicyReason;
  readonly message: string;
  readonly limit?: bigint;
};

/** The policy, resolved to canonical asset keys (`'STX'` or `<contract id>::<asset name>`). */
export type SpendingPolicy = {
  /** The total and window caps per asset key; absent keys have no such cap. */
  readonly budget: BudgetCaps;
  /** Checks one payment against the asset, payTo and per-payment limits (the budget is checked when reserving). */
  check(terms: PaymentTerms): PolicyRefusal | undefined;
};

/**
 * Resolves and validates the policy options for one network.
 * @throws {PayerOptionsError} for an unknown asset, an amount that is not atomic units, or an invalid payTo.
 * @example
 * ```ts
 * const policy = createSpendingPolicy({ budget: { STX: 10_000n } }, STACKS_NETWORKS.testnet);
 * ```
 */
export function createSpendingPolicy(
  options: SpendingPolicyOptions,
  network: StacksNetwork,
  tokens?: ResolveAssetOptions,
): SpendingPolicy {
  const keyOf = (asset: string, option: string): string => {
    try {
      return assetKey(resolveAsset(asset, network, tokens));
    } catch (cause) {
      throw new PayerOptionsError(
        `${option}: ${JSON.stringify(asset)} is not an asset on ${network.name}`,
        {
          cause,
        },
      );
    }
  };
  const amounts = (values: AssetAmounts | undefined, option: string): Map<string, bigint> => {
    const resolved = new Map<string, bigint>();
    for (const [asset, amount] of Object.entries(values ?? {})) {
      try {
        resolved.set(keyOf(asset, option), parseAtomic(amount));
      } catch (cause) {
        if (cause instanceof PayerOptionsError) throw cause;
        throw new PayerOptionsError(
          `${option}.${asset} must be atomic units (a bigint or a string of digits), got ${String(amount)}`,
          { cause },
        );
      }
    }
    return resolved;
  };
  const maxAmount = new Map([
    ...amounts(DEFAULT_MAX_AMOUNT, 'maxAmount'),
    ...amounts(options.maxAmount, 'maxAmount'),
  ]);
  const { budgetWindowMs = DEFAULT_BUDGET_WINDOW_MS } = options;
  if (!Number.isSafeInteger(budgetWindowMs) || budgetWindowMs < 1) {
    throw new PayerOptionsError(
      `budgetWindowMs must be a positive whole number of milliseconds, got ${String(budgetWindowMs)}`,
    );
  }
  const budget: BudgetCaps = {
    total: amounts(options.budget, 'budget'),
    window: amounts(options.windowBudget, 'windowBudget'),
    windowMs: budgetWindowMs,
  };
  const allowedAssets = options.allowedAssets
    ? new Set(options.allowedAssets.map((asset) => keyOf(asset, 'allowedAssets')))
    : undefined;
  const allowedPayTo = options.allowedPayTo
    ? new Set(
        options.allowedPayTo.map((payTo) => {
          try {
            return parsePrincipal(payTo, network).principal;
          } catch (cause) {
            throw new PayerOptionsError(
              `allowedPayTo: ${JSON.stringify(payTo)} is not a ${network.name} principal`,
              {
                cause,
              },
            );
          }
        }),
      )
    : undefined;

  return {
    budget,
    check(terms) {
      const key = assetKey(terms.asset);
      const label = terms.asset.symbol ?? key;
      const max = maxAmount.get(key);
      // 1. The asset: allowed, and with a maximum per payment.
      if (allowedAssets && !allowedAssets.has(key)) {
        return { reason: 'asset_not_allowed', message: `${label} is not in allowedAssets` };
      }
      if (max === undefined) {
        return {
          reason: 'asset_not_allowed',
          message: `${label} has no maximum per payment; add it to maxAmount to pay in it`,
        };
      }
      // 2. The recipient.
      if (allowedPayTo && !allowedPayTo.has(terms.payTo.principal)) {
        return {
          reason: 'pay_to_not_allowed',
          message: `${terms.payTo.principal} is not in allowedPayTo`,
        };
      }
      // 3. The price of this one payment.
      if (terms.amount > max) {
        return {
          reason: 'payment_over_max_amount',
          message: `${formatAmount(terms.amount, terms.asset)} is above maxAmount ${formatAmount(max, terms.asset)}`,
          limit: max,
        };
      }
      return undefined;
    },
  };
}
