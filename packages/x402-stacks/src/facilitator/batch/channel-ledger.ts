/**
 * Where a facilitator keeps batch-settlement channels: the escrow's state as last read from the chain, and the off-chain
 * charged total with the voucher that covers it. The charge is a compare-and-set, so two processes serving one channel
 * can never both advance it from the same total, and a channel is never charged past its latest voucher or balance.
 * In memory here (`createMemoryChannelLedger`); SQLite and PostgreSQL in the facilitator service.
 * @module
 */

import type { ChannelConfig } from '../../batch/wire.js';
import type { StacksNetworkId } from '../../stacks/networks.js';

/**
 * One channel as the ledger holds it. Amounts are in the channel token's smallest unit.
 * @example
 * ```ts
 * const record: ChannelRecord | undefined = await channels.getChannel(channelId);
 * const owed = record ? record.charged - record.claimed : 0n; // charged off chain, not yet claimed
 * ```
 */
export type ChannelRecord = {
  /** `0x` + 64 hex. */
  readonly channelId: string;
  readonly network: StacksNetworkId;
  /** The batch-escrow deployment. */
  readonly escrow: string;
  readonly config: ChannelConfig;
  /** Mirrored from the escrow: deposits minus refunds and withdrawals. */
  readonly balance: bigint;
  /** Mirrored from the escrow: what the receiver side has claimed on chain. */
  readonly claimed: bigint;
  readonly refundNonce: bigint;
  /** The burn block a pending withdrawal started at, 0 when none. */
  readonly withdrawRequestedAt: number;
  /** What the payer was charged off chain in all; never below `claimed`, never above `signedMax`. */
  readonly charged: bigint;
  /** The latest voucher's ceiling and signature: what a claim presents. 0 and '' before the first voucher. */
  readonly signedMax: bigint;
  readonly signature: string;
  /**
   * The channel's age in ms since the epoch, which orders and ages its claims: the time of its first charge not yet
   * claimed while it owes (a later charge keeps it), else of the last write that gave one (a mirror is given the time
   * to keep).
   */
  readonly updatedAt: number;
  /**
   * Set while a refund holds the channel ({@link ChannelLedger.freezeChannel}): until then (ms since the epoch) no
   * charge is taken. Absent when no refund ever froze it, or once its refund thawed it.
   */
  readonly frozenUntil?: number;
  /** The escrow's refund nonce the holding refund was sent with: once the escrow's is past it, that refund is mined. */
  readonly frozenRefundNonce?: bigint;
};

/**
 * The escrow's view of a channel, as `get-channel` answers it.
 * @example
 * ```ts
 * const state: EscrowChannelState | undefined = await readEscrowChannel(chain, escrow, channelId);
 * if (state) await channels.mirrorChannel({ channelId, network, escrow, config }, state, Date.now());
 * ```
 */
export type EscrowChannelState = {
  readonly balance: bigint;
  readonly claimed: bigint;
  readonly refundNonce: bigint;
  readonly withdrawRequestedAt: number;
};

/**
 * The age a mirror of the chain's `state` gives a channel (`ChannelRecord.updatedAt`): the record's own, so that no
 * request (a deposit, a refund refused, a read) puts the channel's claim off; `now` for a channel the ledger does not
 * hold yet, or once the chain claimed more than the record knew (a claim mined since: what the channel still owes was
 * charged after that claim was sent).
 * @example
 * ```ts
 * await channels.mirrorChannel(place, state, mirrorAge(record, state, Date.now()));
 * ```
 */
export function mirrorAge(
  record: { readonly updatedAt?: number; readonly claimed: bigint } | undefined,
  state: EscrowChannelState,
  now: number,
): number {
  return record?.updatedAt === undefined || state.claimed > record.claimed ? now : record.updatedAt;
}

/**
 * A charge to commit: from `expectedCharged` to `charged`, covered by the voucher for `signedMax`.
 * @example
 * ```ts
 * const charge: ChannelCharge = { expectedCharged: record.charged, charged: record.charged + 1000n,
 *   signedMax: BigInt(voucher.maxClaimableAmount), signature: voucher.signature };
 * const after = await channels.chargeChannel(record.channelId, charge, Date.now()); // undefined: not charged
 * ```
 */
export type ChannelCharge = {
  readonly expectedCharged: bigint;
  readonly charged: bigint;
  readonly signedMax: bigint;
  readonly signature: string;
};

/**
 * Storage for batch-settlement channels. Every method is atomic on its own. Pass one to `batchSettlementFacilitator` to
 * keep channels beyond the process's memory.
 * @example
 * ```ts
 * const channels: ChannelLedger = createMemoryChannelLedger();
 * const batch = batchSettlementFacilitator({ escrows: { testnet: escrow }, authorizerKey, channels });
 * ```
 */
export interface ChannelLedger {
  /** The channel, or undefined when this ledger never saw it. */
  getChannel(channelId: string): Promise<ChannelRecord | undefined>;
  /**
   * Records what the escrow says about a channel: creates it (charged = claimed, no voucher) or refreshes the mirrored
   * fields. The charged total is raised to `claimed` if the chain is ahead, and never lowered.
   * @returns the record after the write.
   */
  mirrorChannel(
    channel: Pick<ChannelRecord, 'channelId' | 'network' | 'escrow' | 'config'>,
    state: EscrowChannelState,
    now: number,
  ): Promise<ChannelRecord>;
  /**
   * Advances the charged total if it still is `expectedCharged`, the new total is within `signedMax`, `signedMax` is
   * within the balance, and no refund holds the channel at `now` (`frozenUntil`); the voucher replaces the stored one.
   * `updatedAt` becomes `now` only when the channel owed nothing before (charged = claimed): a channel charged again and
   * again is claimed by the age of its oldest unclaimed charge, not put off by each new one.
   * @returns the record after the write, or undefined when a condition failed (nothing was written).
   */
  chargeChannel(
    channelId: string,
    charge: ChannelCharge,
    now: number,
  ): Promise<ChannelRecord | undefined>;
  /**
   * Holds the channel for a refund until `until`, unless another refund holds it at `now`: from this write on no
   * charge is taken, so the charged total it returns is final for the refund, whatever the mirror is written meanwhile
   * (a mirror never touches the hold). A refund's process that dies leaves the hold to lapse at `until`.
   * @returns the record after the write, or undefined when the channel is unknown or already held.
   */
  freezeChannel(
    channelId: string,
    hold: { readonly until: number; readonly refundNonce: bigint },
    now: number,
  ): Promise<ChannelRecord | undefined>;
  /** Ends the hold `freezeChannel` set until `until`; a later hold (another refund's, once this one lapsed) stays. */
  thawChannel(channelId: string, until: number): Promise<void>;
  /**
   * Channels of one escrow whose charged total is above what was claimed on chain, the oldest `updatedAt` (the oldest
   * unclaimed charge) first: what a claim should present.
   */
  unclaimedChannels(
    network: StacksNetworkId,
    escrow: string,
    limit: number,
  ): Promise<ChannelRecord[]>;
}
