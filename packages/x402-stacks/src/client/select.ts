/**
 * Sorting a challenge's offers into those this account may pay and those it may not, with the reason for each.
 * Nothing here touches the network.
 * @module
 */

import { BATCH_SETTLEMENT } from '../batch/wire.js';
import type { StacksAccount } from '../stacks/accounts.js';
import { assetKey, type ResolveAssetOptions } from '../stacks/assets.js';
import { type PaymentTerms, resolvePaymentTerms } from '../stacks/payment/terms.js';
import { type BatchOffer, readBatchOffer } from './batch/offer.js';
import type { PaymentOffer } from './challenge.js';
import type { RequirementRefusal } from './errors.js';
import type { PolicyRefusal, SpendingPolicy } from './policy.js';

/**
 * An offer this account can pay and the policy allows, with its terms resolved; `batch` is set for a
 * batch-settlement offer (paid from a channel).
 */
export type PayableOffer = PaymentOffer & {
  readonly terms: PaymentTerms;
  readonly batch?: BatchOffer;
};

/** The offers sorted: payable ones in the server's order, refused ones with their reasons. */
export type OfferSelection = {
  readonly payable: readonly PayableOffer[];
  readonly refusals: readonly RequirementRefusal[];
  /** The first refusal by the spending policy (rather than an offer this account cannot pay at all). */
  readonly policyRefusal: OfferPolicyRefusal | undefined;
};

/** An offer the spending policy refused, and the limit it hit. */
export type OfferPolicyRefusal = {
  readonly requirements: PaymentOffer['requirements'];
  readonly refusal: PolicyRefusal;
};

/** The payment flows of x402 v2 §6.1 this buyer can pay: `authorization` (the default, unwritten) and `upfront`. */
const KNOWN_FLOWS = new Set(['authorization', 'upfront']);

/**
 * Checks each offer, in order:
 * 0. its `extra.paymentFlow`, when written, is one this buyer knows (the spec forbids paying any other);
 * 1. the terms resolve: scheme `exact` (or `batch-settlement` when `depositCaps` is given and names the asset), a
 *    Stacks network, a known asset, a positive amount, a valid payTo;
 * 2. the network is the account's;
 * 3. payTo is not the account itself (the node refuses self-transfers);
 * 4. the spending policy allows the asset, the payTo and the amount.
 *
 * Payable offers keep the server's order, except that batch-settlement ones come first (a channel pays a request
 * with a signature instead of a transaction), and `authorization` ones before `upfront` ones (the spec's SHOULD: the
 * buyer's money then moves only after the handler succeeded).
 *
 * @example
 * ```ts
 * const { payable, refusals } = sortOffers(challenge.offers, account, policy);
 * ```
 */
export function sortOffers(
  offers: readonly PaymentOffer[],
  account: Pick<StacksAccount, 'address' | 'network'>,
  policy: SpendingPolicy,
  tokens?: ResolveAssetOptions,
  batchOption?: {
    readonly depositCap: ReadonlyMap<string, bigint>;
    readonly escrows: ReadonlySet<string>;
  },
): OfferSelection {
  const depositCaps = batchOption?.depositCap;
  const payable: PayableOffer[] = [];
  const refusals: RequirementRefusal[] = [];
  let policyRefusal: OfferPolicyRefusal | undefined;
  for (const offer of offers) {
    const refuse = (reason: string, message: string) =>
      refusals.push({ requirement: offer.requirements, reason, message });
    const flow = offer.requirements.extra?.paymentFlow ?? 'authorization';
    if (typeof flow !== 'string' || !KNOWN_FLOWS.has(flow)) {
      refuse(
        'unsupported_payment_flow',
        `extra.paymentFlow ${JSON.stringify(flow)} is not one this buyer can pay (authorization, upfront)`,
      );
      continue;
    }
    const batch =
      offer.requirements.scheme === BATCH_SETTLEMENT && depositCaps
        ? readBatchOffer(offer.requirements, tokens)
        : undefined;
    const terms = batch ?? resolvePaymentTerms(offer.requirements, tokens);
    if ('reason' in terms) {
      refuse(terms.reason, terms.message);
      continue;
    }
    const resolved = 'terms' in terms ? terms.terms : terms;
    if (resolved.network.name !== account.network) {
      refuse(
        'invalid_network',
        `the offer is on ${resolved.network.name}, the account on ${account.network}`,
      );
      continue;
    }
    if (resolved.payTo.principal === account.address) {
      refuse('invalid_payment_requirements', 'payTo is the paying account itself');
      continue;
    }
    const refusal = policy.check(resolved);
    if (refusal) {
      policyRefusal ??= { requirements: offer.requirements, refusal };
      refuse(refusal.reason, refusal.message);
      continue;
    }
    if ('terms' in terms && !batchOption?.escrows.has(terms.extra.escrow)) {
      refuse(
        'invalid_batch_settlement_stacks_escrow',
        `${terms.extra.escrow} is not an escrow this buyer deposits into (batch.escrows)`,
      );
      continue;
    }
    if ('terms' in terms && !depositCaps?.has(assetKey(resolved.asset))) {
      refuse(
        'invalid_batch_settlement_stacks_deposit_above_cap',
        `batch.depositCap names no cap for ${resolved.asset.symbol ?? assetKey(resolved.asset)}: no deposit is made in it`,
      );
      continue;
    }
    payable.push({ ...offer, terms: resolved, ...('terms' in terms ? { batch: terms } : {}) });
  }
  const rank = (offer: PayableOffer) =>
    (offer.batch ? 0 : 2) + (offer.requirements.extra?.paymentFlow === 'upfront' ? 1 : 0);
  // Array sort is stable: within each rank, the server's order stands.
  payable.sort((a, b) => rank(a) - rank(b));
  return { payable, refusals, policyRefusal };
}
