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
 * const batch: BatchPaymentOption = { depositCap: { STX: 1_000_000n }, store: createFileChannelStore('./channels') };
 * ```
 */
export type BatchPaymentOption = {
  /**
   * The most one deposit may lock, per asset (same spellings as `maxAmount`). A deposit is the offer's
   * `extra.minDeposit` (at least the price), cut down to this cap; an asset without a cap is never deposited.
   */
  depositCap: AssetAmounts;
  /** Where the channels are kept. Default: this payer's memory (`createMemoryChannelStore`). */
  store?: ChannelStore;
};

/** The option resolved: caps by canonical asset key, and the store. */
export type ResolvedBatchOption = {
  readonly depositCap: ReadonlyMap<string, bigint>;
  readonly store: ChannelStore;
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
    throw new PayerOptionsError('batch must be { depositCap, store? }');
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
  return { depositCap, store };
}
