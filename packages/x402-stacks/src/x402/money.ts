/**
 * Dollar prices (`'$0.01'`) into atomic amounts of a Stacks asset, with exact decimal arithmetic: the dollar amount
 * and the rate are read as decimal strings into integers, never floats, and the result is rounded up so that a seller
 * is never paid less than the price.
 * @module
 */
import type { StacksAsset } from '../stacks/assets.js';
import type { StacksNetworkId } from '../stacks/networks.js';
import { ExactStacksSchemeError } from './errors.js';

/**
 * The price in US dollars of one whole unit of an asset (1 STX, 1 BTC, 1 USDCx), as a decimal string such as
 * `'0.62'`. Called once per `$` price, so cache in it if the source is slow.
 * @example
 * ```ts
 * const rate: UsdRate = async (asset) => (asset.kind === 'stx' ? '0.62' : '97000');
 * ```
 */
export type UsdRate = (asset: StacksAsset, network: StacksNetworkId) => string | Promise<string>;

/**
 * How `$` prices are paid.
 * @example
 * ```ts
 * const money: MoneyOptions = { asset: 'sBTC', rate: async () => '97000.50' };
 * ```
 */
export type MoneyOptions = {
  /** The asset `$` prices are charged in. Default `'USDCx'`, which needs no rate (1 USDCx = $1). */
  asset?: string;
  /** Dollars per whole unit of `asset`. Required unless `asset` is USDCx (then default `'1'`). */
  rate?: UsdRate;
};

// A dollar amount as prices are written: '$0.01', '0.01', '1.5 USD'. No signs, no exponents.
const MONEY = /^\$?\s*(\d+)(?:\.(\d+))?(?:\s*(?:USD|usd))?$/;
const RATE = /^(\d+)(?:\.(\d+))?$/;
/** Decimals a price given as a number may have: a micro-dollar, USDCx's unit. */
const MAX_NUMBER_DECIMALS = 6;

/** A non-negative decimal as `digits / 10^scale`. */
type Decimal = { readonly digits: bigint; readonly scale: bigint };

/**
 * Reads a dollar price (`'$0.01'`, `'0.01'`, `'1.5 USD'`, or a number such as `0.01`) into an exact decimal.
 * @throws {ExactStacksSchemeError} `invalid_price` for anything else, zero included.
 * @example
 * ```ts
 * parseUsd('$0.10'); // { digits: 10n, scale: 2n }
 * ```
 */
export function parseUsd(price: string | number): Decimal {
  // A number is read through its shortest round-trip spelling, so 0.01 is '0.01'; 1e-7 is refused below.
  const text = typeof price === 'number' ? String(price) : price.trim();
  const match = MONEY.exec(text);
  if (typeof price === 'number' && !Number.isFinite(price)) throw badPrice(price);
  if (!match) throw badPrice(price);
  // As everywhere in the library (STXtoMicroSTX(0.1 + 0.2) throws), a number is taken only while it is plainly a
  // price: more than six decimals (a micro-dollar) means float arithmetic has already rounded it.
  if (typeof price === 'number' && (match[2]?.length ?? 0) > MAX_NUMBER_DECIMALS) {
    throw badPrice(
      price,
      'this number has lost precision to float arithmetic; write the price as a string',
    );
  }
  const usd = decimalOf(match[1]!, match[2]);
  if (usd.digits === 0n) throw badPrice(price, 'a price must be above zero');
  return usd;
}

/**
 * Converts a dollar amount into atomic units of `asset` at `rate` dollars per whole unit, rounding up.
 * `atomic = ceil(usd × 10^decimals / rate)`, in integers.
 * @throws {ExactStacksSchemeError} `invalid_price` for a rate that is not a positive decimal string.
 * @example
 * ```ts
 * usdToAtomic(parseUsd('$1'), 8, '97000'); // 1031n sats
 * ```
 */
export function usdToAtomic(usd: Decimal, decimals: number, rate: string): bigint {
  const match = typeof rate === 'string' ? RATE.exec(rate.trim()) : null;
  if (!match) {
    throw new ExactStacksSchemeError(
      'invalid_price',
      `money.rate must return a positive decimal string such as '0.62', got ${describe(rate)}`,
    );
  }
  const r = decimalOf(match[1]!, match[2]);
  if (r.digits === 0n) {
    throw new ExactStacksSchemeError('invalid_price', 'money.rate returned a rate of zero');
  }
  // usd = U / 10^a and rate = R / 10^b, so atomic = U × 10^(decimals + b) / (R × 10^a).
  const numerator = usd.digits * 10n ** (BigInt(decimals) + r.scale);
  const denominator = r.digits * 10n ** usd.scale;
  return (numerator + denominator - 1n) / denominator;
}

function decimalOf(whole: string, fraction = ''): Decimal {
  return { digits: BigInt(whole + fraction), scale: BigInt(fraction.length) };
}

function badPrice(price: unknown, why = "expected a dollar amount such as '$0.01'") {
  return new ExactStacksSchemeError('invalid_price', `${why}, got ${describe(price)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  return typeof value;
}
