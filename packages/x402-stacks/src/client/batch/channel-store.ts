/**
 * Where a buyer keeps its batch-settlement channels: per channel, the immutable config (with the salt that names it),
 * what the buyer deposited, what it was charged (`chargedCumulativeAmount` as the buyer counts it) and the highest
 * ceiling it signed. The store is the buyer's own view; the facilitator's answers only move it through the checks of
 * `answer.ts`, and a lost or stale view is repaired from the chain and from the corrective 402.
 * @module
 */
import type { ChannelConfig, DepositPayload } from '../../batch/wire.js';

/**
 * Which channel: the network (CAIP-2), the escrow deployment and the channel id.
 * @example
 * ```ts
 * const key: ChannelKey = { network: 'stacks:2147483648', escrow: 'ST1PQ….batch-escrow', channelId: '0x2abc…' };
 * ```
 */
export type ChannelKey = {
  readonly network: string;
  readonly escrow: string;
  readonly channelId: string;
};

/**
 * A deposit that was sent and answered `settlement_pending` (or got no answer): the same payload is sent again until
 * the facilitator says it confirmed or failed, so one need never signs two deposits.
 * @example
 * ```ts
 * const pending: PendingDeposit | undefined = record.pendingDeposit;
 * if (pending) console.log(`deposit ${pending.txid} is sent again as it was signed`);
 * ```
 */
export type PendingDeposit = {
  readonly payload: DepositPayload;
  readonly txid: string;
};

/**
 * One channel as the buyer holds it. Amounts are atomic units of the channel's asset.
 * @example
 * ```ts
 * const room = record.deposited - record.charged; // what the channel can still pay for
 * ```
 */
export type BuyerChannelRecord = ChannelKey & {
  readonly config: ChannelConfig;
  /** Everything the buyer deposited into the channel (or, after a recovery, the balance the escrow showed). */
  readonly deposited: bigint;
  /** The charged total: the sum of what the seller side charged, as far as the buyer has checked it. */
  readonly charged: bigint;
  /** The highest `maxClaimableAmount` the buyer signed: the most the receiver side can ever claim. */
  readonly signedMax: bigint;
  readonly pendingDeposit?: PendingDeposit | undefined;
  /** When the record last changed, ms since the epoch. */
  readonly updatedAt: number;
};

/**
 * A buyer's channel store. `update` is the only write: it reads the current record (undefined when there is none)
 * and stores what `change` returns (nothing when it returns undefined).
 * @example
 * ```ts
 * const store: ChannelStore = createMemoryChannelStore();
 * await store.update(key, (current) => current && { ...current, charged: current.charged + 1000n, updatedAt: Date.now() });
 * ```
 */
export type ChannelStore = {
  get(key: ChannelKey): Promise<BuyerChannelRecord | undefined>;
  /** Every channel held, in no particular order. */
  list(): Promise<readonly BuyerChannelRecord[]>;
  update(
    key: ChannelKey,
    change: (current: BuyerChannelRecord | undefined) => BuyerChannelRecord | undefined,
  ): Promise<BuyerChannelRecord | undefined>;
};

/**
 * The key as one string, for maps and file names.
 * @example
 * ```ts
 * channelKeyString(record); // 'stacks:2147483648|ST1PQ….batch-escrow|0x2abc…'
 * ```
 */
export function channelKeyString(key: ChannelKey): string {
  return `${key.network}|${key.escrow}|${key.channelId}`;
}
