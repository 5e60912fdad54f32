/**
 * Prices into `accepts[]` entries. One function serves the static prices (checked once, when the middleware is
 * created) and the dynamic ones (checked on each request), so both are held to the same rules.
 * @module
 */
import type { PaymentRequirements } from '../protocol/v2.js';
import { type ResolveAssetOptions, wireAssetOf } from '../stacks/assets.js';
import type { StacksNetwork } from '../stacks/networks.js';
import { isTermsProblem, resolvePaymentTerms } from '../stacks/payment/terms.js';
import { parseAtomic } from '../stacks/units.js';

/**
 * An amount in the asset's smallest unit (micro-STX, sats): a digit string, a bigint, or a safe integer.
 * @example
 * ```ts
 * const price: AtomicPrice = STXtoMicroSTX('0.001'); // 1000n
 * ```
 */
export type AtomicPrice = string | bigint | number;

/**
 * One price: an atomic amount in the route's `asset`, or an amount in an asset of its own.
 * @example
 * ```ts
 * const stx: Price = 1000n;
 * const sbtc: Price = { amount: '25', asset: 'sBTC' };
 * ```
 */
export type Price = AtomicPrice | { readonly amount: AtomicPrice; readonly asset?: string };

/**
 * One price, or several: each becomes one `accepts[]` entry, in order, so a buyer may pay in any of them.
 * @example
 * ```ts
 * const prices: Prices = [{ amount: '1000', asset: 'STX' }, { amount: '25', asset: 'sBTC' }];
 * ```
 */
export type Prices = Price | readonly Price[];

/**
 * A price computed per request, synchronously or not: tiered prices, a price per query parameter, a discount.
 * @example
 * ```ts
 * const perRow: PriceFunction<Request> = (req) => BigInt(req.query.rows ?? 1) * 100n;
 * ```
 */
export type PriceFunction<Request> = (request: Request) => Prices | Promise<Prices>;

/** What every entry of one route shares. */
export type RequirementBase = {
  readonly network: StacksNetwork;
  readonly payTo: string;
  readonly asset: string;
  readonly maxTimeoutSeconds: number;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  /** The seller's token overrides (`tokens`): which contract `'sBTC'` names. */
  readonly tokens?: ResolveAssetOptions;
};

/** The entries, or every problem with the prices (each line names the entry). */
export type PricedRequirements =
  | { readonly ok: true; readonly accepts: PaymentRequirements[] }
  | { readonly ok: false; readonly problems: string[] };

/**
 * Builds one `accepts[]` entry per price and checks each the way a facilitator will: an exact-scheme amount above
 * zero that the asset can encode, a known asset on the network, and a payTo of that network.
 */
export function priceRequirements(prices: unknown, base: RequirementBase): PricedRequirements {
  const list: readonly unknown[] = Array.isArray(prices) ? prices : [prices];
  const problems: string[] = [];
  if (list.length === 0) problems.push('amount: give at least one price');
  const accepts: PaymentRequirements[] = [];
  list.forEach((price, index) => {
    const where = list.length === 1 && !Array.isArray(prices) ? 'amount' : `amount[${index}]`;
    const entry = requirementOf(price, base);
    if (typeof entry === 'string') problems.push(`${where}: ${entry}`);
    else accepts.push(entry);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, accepts };
}

function requirementOf(price: unknown, base: RequirementBase): PaymentRequirements | string {
  const { amount, asset } =
    typeof price === 'object' && price !== null && 'amount' in price
      ? (price as { amount: unknown; asset?: unknown })
      : { amount: price, asset: undefined };
  if (asset !== undefined && (typeof asset !== 'string' || asset === '')) {
    return 'asset must be a non-empty string';
  }
  let atomic: bigint;
  try {
    atomic = parseAtomic(amount as AtomicPrice);
  } catch {
    return `expected atomic units as a digit string, a bigint or a safe integer (such as STXtoMicroSTX('0.001')), got ${describe(amount)}`;
  }
  const requirement: PaymentRequirements = {
    scheme: 'exact',
    network: base.network.caip2,
    amount: atomic.toString(),
    asset: (asset as string | undefined) ?? base.asset,
    payTo: base.payTo,
    maxTimeoutSeconds: base.maxTimeoutSeconds,
    ...(base.extra ? { extra: { ...base.extra } } : {}),
  };
  const terms = resolvePaymentTerms(requirement, base.tokens);
  if (isTermsProblem(terms)) return terms.message;
  // The contract id rather than the seller's spelling ('sBTC'): one that every client reads as the same token.
  return { ...requirement, asset: wireAssetOf(terms.asset) };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  return typeof value;
}
