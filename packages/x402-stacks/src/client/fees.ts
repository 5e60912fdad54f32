/**
 * The fee of an unsponsored payment: the node's fee rate times the transaction's size, held between a floor and a
 * cap. A sponsored payment has fee 0 and never comes here.
 * @module
 */
import { parseAtomic } from '../stacks/units.js';
import { PayerOptionsError } from './errors.js';
import type { AtomicAmountInput } from './policy.js';

/**
 * Fee limits, micro-STX.
 * @example
 * ```ts
 * const fees: FeeOptions = { minFee: 1_000n, maxFee: 20_000n };
 * ```
 */
export type FeeOptions = {
  /** The least fee paid. The node's own floor, 1 micro-STX per byte, always applies on top. Default 300. */
  minFee?: AtomicAmountInput;
  /** The most fee paid; a higher rate × size is cut down to it. Default 100,000 (0.1 STX). */
  maxFee?: AtomicAmountInput;
  /** Replaces the node's fee rate, micro-STX per byte. Default: read from the node (`/v2/fees/transfer`). */
  feeRate?: AtomicAmountInput;
};

/**
 * The default fee limits.
 * @example
 * ```ts
 * DEFAULT_FEES.maxFee; // 100000n
 * ```
 */
export const DEFAULT_FEES = Object.freeze({ minFee: 300n, maxFee: 100_000n });

// A contract call with a memo is under 400 bytes; a cap below this could never pay the node's floor.
const LARGEST_PAYMENT_BYTES = 400n;

/** The fee limits, validated. */
export type FeePolicy = {
  readonly minFee: bigint;
  readonly maxFee: bigint;
  readonly feeRate: bigint | undefined;
  /** The fee for a transaction of `bytes` bytes at `rate` micro-STX per byte. */
  feeFor(rate: bigint, bytes: number): bigint;
};

/**
 * Validates the fee options.
 * @throws {PayerOptionsError}
 * @example
 * ```ts
 * createFeePolicy({}).feeFor(1n, 180); // 300n: the floor
 * ```
 */
export function createFeePolicy(options: FeeOptions): FeePolicy {
  const read = (name: keyof FeeOptions, fallback: bigint | undefined) => {
    const value = options[name];
    if (value === undefined) return fallback;
    try {
      return parseAtomic(value);
    } catch (cause) {
      throw new PayerOptionsError(`${name} must be micro-STX as an integer, got ${String(value)}`, {
        cause,
      });
    }
  };
  const minFee = read('minFee', DEFAULT_FEES.minFee)!;
  const maxFee = read('maxFee', DEFAULT_FEES.maxFee)!;
  const feeRate = read('feeRate', undefined);
  if (maxFee < minFee) throw new PayerOptionsError(`maxFee ${maxFee} is below minFee ${minFee}`);
  if (maxFee < LARGEST_PAYMENT_BYTES) {
    throw new PayerOptionsError(
      `maxFee ${maxFee} is below ${LARGEST_PAYMENT_BYTES}: the node asks at least 1 micro-STX per byte`,
    );
  }
  return {
    minFee,
    maxFee,
    feeRate,
    feeFor(rate, bytes) {
      const size = BigInt(bytes);
      const floor = size > minFee ? size : minFee;
      const wanted = rate * size;
      if (wanted < floor) return floor;
      return wanted > maxFee ? maxFee : wanted;
    },
  };
}
