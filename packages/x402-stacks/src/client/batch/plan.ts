/**
 * What a request on a channel takes: a voucher when the channel holds enough beyond what was charged, else a deposit
 * sized by the seller's suggestion and bounded by the buyer's cap. Pure arithmetic on exact amounts.
 * @module
 */

/**
 * The plan for one request: a voucher, a deposit with its voucher, or a deposit the cap does not allow.
 * `ceiling` is the voucher's `maxClaimableAmount`: the charged total plus the price.
 */
export type PaymentPlan =
  | { readonly type: 'voucher'; readonly ceiling: bigint }
  | { readonly type: 'deposit'; readonly amount: bigint; readonly ceiling: bigint }
  | { readonly type: 'above_cap'; readonly needed: bigint; readonly cap: bigint };

/**
 * Plans one request.
 * - room (`balance - charged`) of at least the price: a voucher for `charged + price`;
 * - else a deposit of `max(minDeposit, price)`, at most `cap`; when even what the voucher needs (`price - room`) is
 *   above the cap, `above_cap`, and nothing may be signed.
 * @example
 * ```ts
 * planPayment({ balance: 0n, charged: 0n, price: 1000n, minDeposit: 100_000n, cap: 50_000n });
 * // { type: 'deposit', amount: 50_000n, ceiling: 1000n }
 * ```
 */
export function planPayment(channel: {
  readonly balance: bigint;
  readonly charged: bigint;
  readonly price: bigint;
  readonly minDeposit: bigint | undefined;
  readonly cap: bigint;
}): PaymentPlan {
  const { balance, charged, price, cap } = channel;
  const ceiling = charged + price;
  const room = balance > charged ? balance - charged : 0n;
  if (room >= price) return { type: 'voucher', ceiling };
  const needed = price - room;
  if (needed > cap) return { type: 'above_cap', needed, cap };
  const target =
    channel.minDeposit !== undefined && channel.minDeposit > price ? channel.minDeposit : price;
  return { type: 'deposit', amount: smaller(target, cap), ceiling };
}

// Math.min takes numbers only; amounts are bigints.
function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
