/**
 * A batch-settlement offer (`accepts[]` entry) read into typed terms: the network, asset, price and receiver as for
 * `exact` (the same resolver, so both schemes read an offer alike), plus the escrow's `extra` and the channel token.
 * @module
 */

import { BATCH_SETTLEMENT, type BatchExtra, BatchExtraSchema } from '../../batch/wire.js';
import type { ResolveAssetOptions } from '../../stacks/assets.js';
import {
  isTermsProblem,
  type PaymentTerms,
  resolvePaymentTerms,
  type StacksPaymentRequirements,
  type TermsProblem,
} from '../../stacks/payment/terms.js';

/**
 * A batch-settlement offer, resolved. `terms.amount` is the price of one request, the most it may be charged.
 * @example
 * ```ts
 * const offer = readBatchOffer(paymentRequired.accepts[0]);
 * if (!('reason' in offer)) console.log(offer.terms.amount, offer.extra.escrow, offer.token ?? 'STX');
 * ```
 */
export type BatchOffer = {
  readonly terms: PaymentTerms;
  readonly extra: BatchExtra;
  /** The channel's `token`: `null` for STX, else the SIP-010 contract principal. */
  readonly token: string | null;
  /** The deposit the seller suggests, when it names one. */
  readonly minDeposit: bigint | undefined;
};

/**
 * Reads a batch-settlement offer, or says why it cannot be paid.
 * @example
 * ```ts
 * const offer = readBatchOffer(paymentRequired.accepts[0]);
 * if ('reason' in offer) console.log(offer.message);
 * ```
 */
export function readBatchOffer(
  requirements: StacksPaymentRequirements,
  tokens?: ResolveAssetOptions,
): BatchOffer | TermsProblem {
  if (requirements?.scheme !== BATCH_SETTLEMENT) {
    return {
      reason: 'invalid_scheme',
      message: `scheme must be '${BATCH_SETTLEMENT}', got ${JSON.stringify(requirements?.scheme)}`,
    };
  }
  const terms = resolvePaymentTerms({ ...requirements, scheme: 'exact' }, tokens);
  if (isTermsProblem(terms)) return terms;
  const extra = BatchExtraSchema.safeParse(requirements.extra);
  if (!extra.success) {
    return {
      reason: 'invalid_payment_requirements',
      message: `extra is not a batch-settlement offer's: ${extra.error.issues[0]?.message ?? 'invalid'}`,
    };
  }
  const minDeposit =
    extra.data.minDeposit === undefined ? undefined : BigInt(extra.data.minDeposit);
  return {
    terms,
    extra: extra.data,
    token: terms.asset.kind === 'stx' ? null : terms.asset.contractId,
    minDeposit,
  };
}
