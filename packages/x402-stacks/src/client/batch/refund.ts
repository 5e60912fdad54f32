/**
 * The buyer's cooperative refund: the `refund` payload that asks the seller side to return everything in a channel
 * that was not charged, and the buyer's record once it was answered. A refund is whole (no `amount`), and its voucher
 * is zero-charge: its ceiling is the charged total itself, which proves the payer-authorizer asks and that both sides
 * agree on what was charged. A buyer whose total is behind gets a corrective 402 ({@link adoptCorrective}) and asks
 * again.
 * @module
 */
import { signVoucher } from '../../batch/channel.js';
import { BatchSettleExtraSchema, type RefundPayload } from '../../batch/wire.js';
import type { StacksAccount } from '../../stacks/accounts.js';
import { resolveNetwork } from '../../stacks/networks.js';
import type { BuyerChannelRecord } from './channel-store.js';
import { BatchClientError } from './errors.js';

/**
 * The whole-refund payload of a channel, signed by the account (the channel's payer-authorizer).
 * @throws {BatchClientError} `channel_not_authorized_by_account` when the account is not the channel's
 *   payer-authorizer: its voucher would be refused anyway.
 * @example
 * ```ts
 * const payload = refundPayload(account, record);
 * const header = encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload });
 * ```
 */
export function refundPayload(account: StacksAccount, record: BuyerChannelRecord): RefundPayload {
  if (account.address !== record.config.payerAuthorizer) {
    throw new BatchClientError(
      'channel_not_authorized_by_account',
      `the channel ${record.channelId} is authorized by ${record.config.payerAuthorizer}, not ${account.address}`,
    );
  }
  const network = resolveNetwork(record.network);
  return {
    type: 'refund',
    channelConfig: record.config,
    voucher: {
      channelId: record.channelId,
      maxClaimableAmount: record.charged.toString(),
      signature: signVoucher(
        account.privateKey,
        network,
        record.escrow,
        record.channelId,
        record.charged,
      ),
    },
  };
}

/**
 * The record after an answered refund: what the escrow now holds (`channelState.balance`, the charged total) becomes
 * the deposit, and the charged total never drops below what was claimed. An answer that does not parse, or names
 * another channel, leaves the record as it was: the chain repairs it on the next payment.
 * @example
 * ```ts
 * await store.update(record, (current) => refundedRecord(current ?? record, settlement.extra, Date.now()));
 * ```
 */
export function refundedRecord(
  record: BuyerChannelRecord,
  extra: unknown,
  now: number,
): BuyerChannelRecord {
  const parsed = BatchSettleExtraSchema.safeParse(extra);
  if (!parsed.success || parsed.data.channelState.channelId !== record.channelId) return record;
  const state = parsed.data.channelState;
  const claimed = BigInt(state.totalClaimed);
  return {
    ...record,
    deposited: BigInt(state.balance),
    charged: claimed > record.charged ? claimed : record.charged,
    updatedAt: now,
  };
}
