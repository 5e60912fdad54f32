/**
 * The seller's short-lived copy of the channels it charged, so that the next voucher on a channel can be admitted
 * without a `/verify` round trip: the signature is recovered here and the totals are held against the facilitator's
 * last answer. The facilitator still checks everything again when it charges, and its compare-and-set on the charged
 * total is what decides; this copy only saves asking twice.
 *
 * What an attacker gets from it: a voucher the copy accepts and the facilitator then refuses runs the handler once with
 * its response held back and never sent. That takes a copy that is wrong, which only a change this process did not
 * see makes (another process charged the channel, the payer started a withdrawal, a refund sent elsewhere froze it),
 * and the refusal drops the copy: at most one such run per change, and never an unpaid response. Every route of the
 * process that charges through one facilitator shares one copy (`seller-channels.ts`), and a refund through this
 * process drops it, so its own charges and refunds never leave it behind. Every check the facilitator makes on
 * what the buyer sends is made here too, the same way (`acceptedMismatch`, the channel id, the signature, the totals).
 * @module
 */
import { acceptedMismatch } from '../../batch/accepted.js';
import { channelIdOf, isVoucherSignedBy } from '../../batch/channel.js';
import type { BatchPayload } from '../../batch/wire.js';
import type { PaymentPayload, PaymentRequirements } from '../../protocol/v2.js';
import { resolveNetwork } from '../../stacks/networks.js';

/** How long a facilitator answer stands in for asking again, ms. */
const FRESH_MS = 2_000;
/** Channels remembered at most; past it the longest unused is dropped. */
const MAX_CHANNELS = 10_000;

type MirroredChannel = {
  /** The route terms it was charged under: the escrow, receiver, asset and delay a voucher's config was checked on. */
  readonly terms: string;
  readonly charged: bigint;
  readonly balance: bigint;
  readonly at: number;
};

/**
 * The channels this process charged lately through one facilitator.
 * @example
 * ```ts
 * const mirror = createChannelMirror();
 * if (!mirror.admits(payment, payload, requirements)) await facilitator.verify(payment, requirements);
 * ```
 */
export type ChannelMirror = {
  /** Whether the voucher pays this channel's next request on the facilitator's last word: nothing to ask it. */
  admits(
    payment: PaymentPayload,
    payload: BatchPayload,
    requirements: PaymentRequirements,
  ): boolean;
  /** Keeps the channel as a successful charge left it (`extra.channelState` of the settle answer). */
  charged(channelId: string, requirements: PaymentRequirements, extra: unknown): void;
  /** Drops the channel: the facilitator refused something on it, so the copy may be wrong. */
  forget(channelId: string): void;
};

/**
 * Creates an empty mirror.
 * @example
 * ```ts
 * const mirror = createChannelMirror(() => Date.now());
 * ```
 */
export function createChannelMirror(now: () => number = Date.now): ChannelMirror {
  const channels = new Map<string, MirroredChannel>();
  return {
    admits(payment, payload, requirements) {
      if (payload.type !== 'voucher') return false;
      const { voucher, channelConfig } = payload;
      const known = channels.get(voucher.channelId);
      if (!known || now() - known.at > FRESH_MS || known.terms !== termsOf(requirements)) {
        return false;
      }
      if (acceptedMismatch(payment.accepted, requirements) !== undefined) return false;
      if (channelIdOf(channelConfig) !== voucher.channelId) return false;
      let ceiling: bigint;
      let price: bigint;
      try {
        ceiling = BigInt(voucher.maxClaimableAmount);
        price = BigInt(requirements.amount);
      } catch {
        return false;
      }
      if (ceiling !== known.charged + price || ceiling > known.balance) return false;
      const escrow = requirements.extra?.escrow;
      if (typeof escrow !== 'string') return false;
      return isVoucherSignedBy(
        resolveNetwork(requirements.network),
        escrow,
        voucher,
        channelConfig.payerAuthorizer,
      );
    },
    charged(channelId, requirements, extra) {
      const state = channelStateOf(extra);
      channels.delete(channelId);
      // A withdrawal under way refuses every voucher: the facilitator says so, not this copy.
      if (!state || state.channelId !== channelId || state.withdrawRequestedAt !== 0) return;
      if (channels.size >= MAX_CHANNELS) channels.delete(channels.keys().next().value!);
      channels.set(channelId, {
        terms: termsOf(requirements),
        charged: state.charged,
        balance: state.balance,
        at: now(),
      });
    },
    forget(channelId) {
      channels.delete(channelId);
    },
  };
}

function termsOf(requirements: PaymentRequirements): string {
  const extra = requirements.extra ?? {};
  return [
    requirements.network,
    requirements.asset,
    requirements.payTo,
    extra.escrow,
    extra.receiverAuthorizer,
    extra.withdrawDelay,
  ].join('|');
}

/** The facilitator's channel snapshot, when it is whole; anything else is no snapshot. */
function channelStateOf(
  extra: unknown,
):
  | { channelId: string; charged: bigint; balance: bigint; withdrawRequestedAt: number }
  | undefined {
  const state = (extra as { channelState?: Record<string, unknown> } | null | undefined)
    ?.channelState;
  if (typeof state !== 'object' || state === null) return undefined;
  const { channelId, chargedCumulativeAmount, balance, withdrawRequestedAt } = state;
  if (typeof channelId !== 'string' || typeof withdrawRequestedAt !== 'number') return undefined;
  if (typeof chargedCumulativeAmount !== 'string' || typeof balance !== 'string') return undefined;
  if (!/^\d{1,39}$/.test(chargedCumulativeAmount) || !/^\d{1,39}$/.test(balance)) return undefined;
  return {
    channelId,
    charged: BigInt(chargedCumulativeAmount),
    balance: BigInt(balance),
    withdrawRequestedAt,
  };
}
