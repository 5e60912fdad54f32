/**
 * Exact conversion between human amounts ("0.29" STX) and atomic units (290000 micro-STX). Decimal strings are cut
 * into digits, never multiplied as floats, so `STXtoMicroSTX(0.29)` is exactly `290000n`.
 * @module
 */
import { assetKey, type StacksAsset } from './assets.js';
import { InvalidAmountError } from './errors.js';

/**
 * A human amount: a decimal string, a finite number, or a bigint of whole units.
 * @example
 * ```ts
 * const price: DecimalInput = '0.29'; // or 0.29; a bigint counts whole units: 1n is one STX
 * toAtomic(price, 6); // 290000n
 * ```
 */
export type DecimalInput = string | number | bigint;

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const SCIENTIFIC = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/;
const MAX_DECIMALS = 255;

/**
 * Converts a human amount to atomic units, exactly.
 *
 * Numbers are read through their shortest round-trip decimal spelling (`String(0.29)` is `"0.29"`), so a literal
 * like `0.29` converts exactly; a float that already lost precision (`0.1 + 0.2`) has too many decimals and is
 * refused rather than rounded.
 *
 * @param amount Decimal string (`"1.5"`), number (`1.5`) or bigint of whole units (`2n`).
 * @param decimals How many decimals the asset has (STX 6, sBTC 8).
 * @throws {InvalidAmountError} for NaN, infinities, negatives, malformed strings and excess decimals.
 * @example
 * ```ts
 * import { toAtomic } from 'x402-stacks';
 * toAtomic('0.29', 6); // 290000n
 * toAtomic(2n, 8); // 200000000n
 * ```
 */
export function toAtomic(amount: DecimalInput, decimals: number): bigint {
  assertDecimals(decimals);
  if (typeof amount === 'bigint') {
    if (amount < 0n) throw new InvalidAmountError(amount, 'must not be negative');
    return amount * 10n ** BigInt(decimals);
  }
  const [whole, fraction] = splitDecimal(amount);
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > decimals) {
    throw new InvalidAmountError(
      amount,
      `has ${significant.length} decimals, but this asset has only ${decimals}`,
    );
  }
  return BigInt(whole + significant.padEnd(decimals, '0'));
}

/**
 * Converts atomic units to a human decimal string, exactly, without trailing zeros.
 *
 * @param atomic A bigint, an integer string, or a safe integer number of atomic units.
 * @param decimals How many decimals the asset has.
 * @throws {InvalidAmountError} for negatives and non-integers.
 * @example
 * ```ts
 * import { fromAtomic } from 'x402-stacks';
 * fromAtomic(290000n, 6); // '0.29'
 * fromAtomic('100000000', 8); // '1'
 * ```
 */
export function fromAtomic(atomic: bigint | string | number, decimals: number): string {
  assertDecimals(decimals);
  const value = parseAtomic(atomic);
  const digits = value.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/**
 * An amount as people read it: whole units and the asset's symbol (`'1.000001 STX'`). A token whose decimals are
 * unknown shows its atomic amount and its id, said to be atomic, rather than a guess. Every message of the library
 * and of the command line that shows an amount goes through here, so none prints atomic units as whole ones.
 * @param atomic The amount in atomic units.
 * @param asset The resolved asset (`resolveAsset`, or `PaymentTerms.asset`).
 * @throws {InvalidAmountError} for negatives and non-integers.
 * @example
 * ```ts
 * import { formatAmount, STX_ASSET } from 'x402-stacks/stacks';
 * formatAmount(1_000_001n, STX_ASSET); // '1.000001 STX'
 * ```
 */
export function formatAmount(atomic: bigint | string | number, asset: StacksAsset): string {
  if (asset.decimals === undefined)
    return `${parseAtomic(atomic)} atomic units of ${assetKey(asset)}`;
  return `${fromAtomic(atomic, asset.decimals)} ${asset.symbol ?? assetKey(asset)}`;
}

/**
 * Reads an atomic amount: a bigint, an integer string, or a safe integer number. Never a fraction.
 * @throws {InvalidAmountError}
 * @example
 * ```ts
 * parseAtomic('1000'); // 1000n
 * ```
 */
export function parseAtomic(atomic: bigint | string | number): bigint {
  if (typeof atomic === 'bigint') {
    if (atomic < 0n) throw new InvalidAmountError(atomic, 'must not be negative');
    return atomic;
  }
  if (typeof atomic === 'number') {
    if (!Number.isSafeInteger(atomic) || atomic < 0) {
      throw new InvalidAmountError(atomic, 'atomic amounts are non-negative safe integers');
    }
    return BigInt(atomic);
  }
  if (typeof atomic !== 'string' || !/^\d+$/.test(atomic)) {
    throw new InvalidAmountError(atomic, 'atomic amounts are strings of digits');
  }
  return BigInt(atomic);
}

/**
 * STX to micro-STX (6 decimals), exactly.
 * @example
 * ```ts
 * import { STXtoMicroSTX } from 'x402-stacks';
 * STXtoMicroSTX(0.00001); // 10n
 * STXtoMicroSTX('1.005'); // 1005000n
 * ```
 */
export function STXtoMicroSTX(stx: DecimalInput): bigint {
  return toAtomic(stx, 6);
}

/**
 * Micro-STX to an STX decimal string, exactly.
 * @example
 * ```ts
 * microSTXtoSTX(1005000n); // '1.005'
 * ```
 */
export function microSTXtoSTX(microStx: bigint | string | number): string {
  return fromAtomic(microStx, 6);
}

/**
 * BTC (sBTC) to satoshis (8 decimals), exactly.
 * @example
 * ```ts
 * BTCtoSats('4.35'); // 435000000n
 * ```
 */
export function BTCtoSats(btc: DecimalInput): bigint {
  return toAtomic(btc, 8);
}

/**
 * Satoshis to a BTC decimal string, exactly.
 * @example
 * ```ts
 * satsToBTC(435000000n); // '4.35'
 * ```
 */
export function satsToBTC(sats: bigint | string | number): string {
  return fromAtomic(sats, 8);
}

/**
 * USDCx to its atomic unit (6 decimals), exactly.
 * @example
 * ```ts
 * USDCxToMicroUSDCx('0.05'); // 50000n
 * ```
 */
export function USDCxToMicroUSDCx(usdcx: DecimalInput): bigint {
  return toAtomic(usdcx, 6);
}

/**
 * Atomic USDCx to a decimal string, exactly.
 * @example
 * ```ts
 * microUSDCxToUSDCx(50000n); // '0.05'
 * ```
 */
export function microUSDCxToUSDCx(micro: bigint | string | number): string {
  return fromAtomic(micro, 6);
}

function splitDecimal(amount: string | number): [whole: string, fraction: string] {
  if (typeof amount === 'number') {
    if (Number.isNaN(amount)) throw new InvalidAmountError(amount, 'is not a number');
    if (!Number.isFinite(amount)) throw new InvalidAmountError(amount, 'is not finite');
    if (amount < 0) throw new InvalidAmountError(amount, 'must not be negative');
    if (amount > Number.MAX_SAFE_INTEGER) {
      throw new InvalidAmountError(
        amount,
        'numbers this large are inexact; pass a string or a bigint',
      );
    }
    // String() gives the shortest spelling that round-trips, which is what the caller typed for any literal.
    return splitDecimalString(String(amount), amount);
  }
  if (typeof amount !== 'string') {
    throw new InvalidAmountError(amount, 'expected a decimal string, a number or a bigint');
  }
  if (amount.startsWith('-')) throw new InvalidAmountError(amount, 'must not be negative');
  const match = DECIMAL.exec(amount);
  if (!match)
    throw new InvalidAmountError(amount, 'expected digits with an optional decimal point');
  return [match[1]!, match[2] ?? ''];
}

function splitDecimalString(text: string, original: number): [string, string] {
  const plain = DECIMAL.exec(text);
  if (plain) return [plain[1]!, plain[2] ?? ''];
  const scientific = SCIENTIFIC.exec(text);
  if (!scientific) throw new InvalidAmountError(original, 'cannot be read as a decimal');
  // Shift the decimal point of the mantissa by the exponent, on digits only.
  const digits = scientific[1]! + (scientific[2] ?? '');
  const point = scientific[1]!.length + Number(scientific[3]);
  if (point <= 0) return ['0', '0'.repeat(-point) + digits];
  if (point >= digits.length) return [digits + '0'.repeat(point - digits.length), ''];
  return [digits.slice(0, point), digits.slice(point)];
}

function assertDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new InvalidAmountError(decimals, `decimals must be an integer from 0 to ${MAX_DECIMALS}`);
  }
}
