/**
 * The batch-settlement entries a route offers beside its `exact` ones: the same price, asset and payTo, with the
 * escrow and receiver-authorizer the facilitator serves, the route's withdraw delay and suggested deposit, and the
 * sponsor that pays a deposit's fee. A corrective 402 adds the channel snapshot the buyer resynchronises from.
 * @module
 */
import { BATCH_SETTLEMENT, type ChannelState, type VoucherState } from '../../batch/wire.js';
import type { PaymentRequirements } from '../../protocol/v2.js';
import type { FacilitatorHints } from '../sponsor.js';

/** The route's batch-settlement settings. */
export type BatchOfferSettings = {
  readonly withdrawDelay: number;
  /** Undefined: 100 × the price. */
  readonly minDeposit: bigint | undefined;
};

/** How many requests the suggested deposit covers when the route names none. */
const DEFAULT_DEPOSIT_REQUESTS = 100n;

/**
 * The offers with a batch-settlement entry after each `exact` one, or the offers as they are when the facilitator
 * serves no escrow on the network.
 * @example
 * ```ts
 * const accepts = withBatchOffers(exactAccepts, hints, { withdrawDelay: 144, minDeposit: undefined });
 * ```
 */
export function withBatchOffers(
  accepts: readonly PaymentRequirements[],
  hints: FacilitatorHints | undefined,
  settings: BatchOfferSettings,
): readonly PaymentRequirements[] {
  const served = hints?.batch;
  if (!served) return accepts;
  const batch = accepts
    .filter((entry) => entry.scheme === 'exact')
    .map((entry): PaymentRequirements => {
      const price = BigInt(entry.amount);
      const sponsor = entry.extra?.sponsor ?? entry.extra?.feePayer;
      const minDeposit = settings.minDeposit ?? price * DEFAULT_DEPOSIT_REQUESTS;
      return {
        ...entry,
        scheme: BATCH_SETTLEMENT,
        extra: {
          escrow: served.escrow,
          receiverAuthorizer: served.receiverAuthorizer,
          withdrawDelay: settings.withdrawDelay,
          minDeposit: (minDeposit > price ? minDeposit : price).toString(),
          ...(typeof sponsor === 'string' ? { sponsor, feePayer: sponsor } : {}),
        },
      };
    });
  return [...accepts, ...batch];
}

/**
 * The offers of a corrective 402: the paid entry carries the channel's snapshot and the last voucher, so the buyer
 * can check its own signature and sign the next voucher from the seller's total.
 */
export function correctiveOffers(
  accepts: readonly PaymentRequirements[],
  paid: PaymentRequirements,
  corrective: { readonly channelState: ChannelState; readonly voucherState?: VoucherState },
): PaymentRequirements[] {
  return accepts.map((entry) =>
    entry.scheme === paid.scheme &&
    entry.amount === paid.amount &&
    entry.asset === paid.asset &&
    entry.payTo === paid.payTo
      ? { ...entry, extra: { ...entry.extra, ...corrective } }
      : entry,
  );
}
