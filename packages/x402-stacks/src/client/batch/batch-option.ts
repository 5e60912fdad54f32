/**
 * The buyer's `batch` option: pay batch-settlement offers from a channel, with a deposit cap per asset. Checked once,
 * when the payer is created, against the account's network.
 * @module
 */

import { assetKey, type ResolveAssetOptions, resolveAsset } from '../../stacks/assets.js';
import type { StacksNetwork } from '../../stacks/networks.js';
import { parseAtomic } from '../../stacks/units.js';
import { PayerOptionsError } from '../errors.js';
import type { AssetAmounts } from '../policy.js';
import type { ChannelStore } from './channel-store.js';
import { createMemoryChannelStore } from './memory-channel-store.js';

/**
 * Pay `batch-settlement` offers: deposit once into an escrow channel, then pay each request with a signed voucher.
 * When a 402 offers both `exact` and `batch-settlement` within the spending policy, the channel is preferred; an offer
 * whose deposit would be above `depositCap` falls back to `exact`. Off by default: a deposit locks funds until they are
 * charged, refunded or withdrawn, so only a buyer that chose a cap opens channels.
 * @example
 * ```ts
 * const batch: BatchPaymentOption = { depositCap: { STX: 1_000_000n }, escrows: [escrow], store: createFileChannelStore('./channels') };
 * ```
 */
export type BatchPaymentOption = {
  /**
   * The most this buyer's channels may hold unspent in all, per asset (same spellings as `maxAmount`): deposited and
   * not charged, plus deposits in flight. A deposit is the offer's `extra.minDeposit` (at least the price), cut down to
   * what the cap leaves; an asset without a cap is never deposited.
   */
  depositCap: AssetAmounts;
  /**
   * The batch-escrow deployments this buyer deposits into (`<address>.<contract>`). Required: an offer names its escrow,
   * and a seller naming a contract of its own could keep a deposit, so only escrows the buyer chose are paid into;
   * other batch offers fall back to `exact`. The devnet's is `ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow`.
   */
  escrows: readonly string[];
  /** Where the channels are kept. Default: this payer's memory (`createMemoryChannelStore`). */
  store?: ChannelStore;
  /**
   * After a channel payment is served, the next request to the same method and URL within a minute carries its
   * voucher at once, without first asking for a 402: one round trip per paid request instead of two. The payment goes
   * through the same policy, budget and `onPaymentRequired`; a 402 to it is paid from that 402 as usual. Default
   * `true`.
   */
  payAhead?: boolean;
};

/** The option resolved: caps by canonical asset key, and the store. */
export type ResolvedBatchOption = {
  readonly depositCap: ReadonlyMap<string, bigint>;
  readonly escrows: ReadonlySet<string>;
  readonly store: ChannelStore;
  readonly payAhead: boolean;
};

/**
 * Validates the `batch` option.
 * @throws {PayerOptionsError} for an unknown asset, an amount that is not atomic units, or a store that is not one.
 * @example
 * ```ts
 * const batch = resolveBatchOption({ depositCap: { STX: 100_000n } }, STACKS_NETWORKS.testnet);
 * ```
 */
export function resolveBatchOption(
  option: BatchPaymentOption | undefined,
  network: StacksNetwork,
  tokens?: ResolveAssetOptions,
): ResolvedBatchOption | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'object' || option === null || typeof option.depositCap !== 'object') {
    throw new PayerOptionsError('batch must be { depositCap, escrows, store?, payAhead? }');
  }
  if (
    !Array.isArray(option.escrows) ||
    option.escrows.length === 0 ||
    option.escrows.some(
      (escrow) =>
        typeof escrow !== 'string' ||
        !/^S[0-9A-Z]{27,40}\.[a-zA-Z][a-zA-Z0-9_-]{0,39}$/.test(escrow),
    )
  ) {
    throw new PayerOptionsError(
      'batch.escrows must list the batch-escrow contracts this buyer deposits into, such as ["ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow"]',
    );
  }
  const depositCap = new Map<string, bigint>();
  for (const [asset, amount] of Object.entries(option.depositCap ?? {})) {
    let key: string;
    try {
      key = assetKey(resolveAsset(asset, network, tokens));
    } catch (cause) {
      throw new PayerOptionsError(
        `batch.depositCap: ${JSON.stringify(asset)} is not an asset on ${network.name}`,
        { cause },
      );
    }
    try {
      depositCap.set(key, parseAtomic(amount));
    } catch (cause) {
      throw new PayerOptionsError(
        `batch.depositCap.${asset} must be atomic units (a bigint or a string of digits), got ${String(amount)}`,
        { cause },
      );
    }
  }
  const { store = createMemoryChannelStore() } = option;
  if (
    typeof store?.get !== 'function' ||
    typeof store.list !== 'function' ||
    typeof store.update !== 'function'
  ) {
    throw new PayerOptionsError(
      'batch.store must be a ChannelStore (createMemoryChannelStore, createFileChannelStore)',
    );
  }
  const { payAhead = true } = option;
  if (typeof payAhead !== 'boolean')
    throw new PayerOptionsError('batch.payAhead must be a boolean');
  return { depositCap, escrows: new Set(option.escrows), store, payAhead };
}
