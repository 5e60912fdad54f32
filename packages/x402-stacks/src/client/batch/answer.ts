/**
 * Reading the seller side's answers into the buyer's channel record, without trusting them: a charge moves the
 * buyer's total only when it is at most the price and agrees with the total the answer claims, and a corrective 402's
 * total is adopted only when it is backed by a voucher the buyer itself signed. A dishonest answer can therefore cost
 * at most what the buyer already signed.
 * @module
 */

import { voucherSigner } from '../../batch/channel.js';
import {
  type BatchPayload,
  BatchSettleExtraSchema,
  ChannelStateSchema,
  VoucherStateSchema,
} from '../../batch/wire.js';
import type { StacksNetwork } from '../../stacks/networks.js';
import type { BuyerChannelRecord } from './channel-store.js';

/**
 * The record after a served request: `charged` advances by `extra.chargedAmount` (absent: 0) only when that is at most
 * the price and, if the answer's `channelState.chargedCumulativeAmount` is present, it equals the voucher's base plus
 * the charge; otherwise the record keeps its total and a later corrective 402 settles the difference. A served
 * deposit adds its amount to the balance. The highest signed ceiling is kept either way.
 * @example
 * ```ts
 * const next = applyServedAnswer(record, payload, 1000n, settlement.extra, Date.now());
 * ```
 */
export function applyServedAnswer(
  record: BuyerChannelRecord,
  payload: BatchPayload,
  price: bigint,
  extra: unknown,
  now: number,
): BuyerChannelRecord {
  const ceiling = BigInt(payload.voucher.maxClaimableAmount);
  const base = ceiling - price;
  const parsed = BatchSettleExtraSchema.safeParse(extra);
  const chargedAmount =
    parsed.success && parsed.data.chargedAmount !== undefined
      ? BigInt(parsed.data.chargedAmount)
      : 0n;
  const claimed = parsed.success ? parsed.data.channelState.chargedCumulativeAmount : undefined;
  const agrees =
    parsed.success &&
    chargedAmount <= price &&
    (claimed === undefined || BigInt(claimed) === base + chargedAmount);
  return {
    ...record,
    charged: agrees ? base + chargedAmount : record.charged,
    deposited:
      payload.type === 'deposit'
        ? record.deposited + BigInt(payload.deposit.amount)
        : record.deposited,
    signedMax: ceiling > record.signedMax ? ceiling : record.signedMax,
    pendingDeposit: undefined,
    updatedAt: now,
  };
}

/**
 * Why a corrective 402 was not adopted: it carries no state for this channel, its voucher does not recover to the
 * buyer's own authorizer, or the total it claims is above that voucher or below what the escrow already claimed.
 * @example
 * ```ts
 * const adopted = adoptCorrective(record, network, offer.extra, Date.now());
 * if ('refusal' in adopted) console.warn(`corrective 402 not adopted: ${adopted.refusal}`);
 * ```
 */
export type CorrectiveRefusal =
  | 'corrective_state_missing'
  | 'corrective_voucher_not_ours'
  | 'corrective_total_out_of_range';

/**
 * The record after a corrective 402's `extra` (`channelState` and `voucherState`), or why it cannot be adopted. The
 * server's `chargedCumulativeAmount` is taken only when `voucherState.signature` recovers, over
 * `(escrow, channelId, signedMaxClaimable)` on `network`, to the channel's payer-authorizer, and
 * `totalClaimed <= chargedCumulativeAmount <= signedMaxClaimable`.
 * @example
 * ```ts
 * const adopted = adoptCorrective(record, network, offer.extra, Date.now());
 * if ('record' in adopted) await store.update(record, () => adopted.record);
 * ```
 */
export function adoptCorrective(
  record: BuyerChannelRecord,
  network: StacksNetwork,
  extra: { readonly channelState?: unknown; readonly voucherState?: unknown } | undefined,
  now: number,
): { readonly record: BuyerChannelRecord } | { readonly refusal: CorrectiveRefusal } {
  const state = ChannelStateSchema.safeParse(extra?.channelState);
  const voucher = VoucherStateSchema.safeParse(extra?.voucherState);
  if (
    !state.success ||
    !voucher.success ||
    state.data.channelId !== record.channelId ||
    state.data.chargedCumulativeAmount === undefined
  ) {
    return { refusal: 'corrective_state_missing' };
  }
  const signer = voucherSigner(network, record.escrow, {
    channelId: record.channelId,
    maxClaimableAmount: voucher.data.signedMaxClaimable,
    signature: voucher.data.signature,
  });
  if (signer !== record.config.payerAuthorizer) return { refusal: 'corrective_voucher_not_ours' };
  const charged = BigInt(state.data.chargedCumulativeAmount);
  const signedMax = BigInt(voucher.data.signedMaxClaimable);
  if (charged > signedMax || charged < BigInt(state.data.totalClaimed)) {
    return { refusal: 'corrective_total_out_of_range' };
  }
  return {
    record: {
      ...record,
      charged,
      signedMax: signedMax > record.signedMax ? signedMax : record.signedMax,
      updatedAt: now,
    },
  };
}
