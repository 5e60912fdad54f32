/**
 * Sorting a challenge's offers into those this account may pay and those it may not, with the reason for each.
 * Nothing here touches the network.
 * @module
 */
import type { StacksAccount } from '../stacks/accounts.js';
import type { ResolveAssetOptions } from '../stacks/assets.js';
import { isTermsProblem, type PaymentTerms, resolvePaymentTerms } from '../stacks/payment/terms.js';
import type { PaymentOffer } from './challenge.js';
import type { RequirementRefusal } from './errors.js';
import type { PolicyRefusal, SpendingPolicy } from './policy.js';

/** An offer this account can pay and the policy allows, with its terms resolved. */
export type PayableOffer = PaymentOffer & { readonly terms: PaymentTerms };

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

/**
 * Checks each offer, in order:
 * 1. the terms resolve: scheme `exact`, a Stacks network, a known asset, a positive amount, a valid payTo;
 * 2. the network is the account's;
 * 3. payTo is not the account itself (the node refuses self-transfers);
 * 4. the spending policy allows the asset, the payTo and the amount.
 *
 * @example
 * ```ts
 * const { payable, refusals } = sortOffers(challenge.offers, account, policy);
 * ```
 */
export function sortOffers(
  offers: readonly PaymentOffer[],
  account: StacksAccount,
  policy: SpendingPolicy,
  tokens?: ResolveAssetOptions,
): OfferSelection {
  const payable: PayableOffer[] = [];
  const refusals: RequirementRefusal[] = [];
  let policyRefusal: OfferPolicyRefusal | undefined;
  for (const offer of offers) {
    const refuse = (reason: string, message: string) =>
      refusals.push({ requirement: offer.requirements, reason, message });
    const terms = resolvePaymentTerms(offer.requirements, tokens);
    if (isTermsProblem(terms)) {
      refuse(terms.reason, terms.message);
      continue;
    }
    if (terms.network.name !== account.network) {
      refuse(
        'invalid_network',
        `the offer is on ${terms.network.name}, the account on ${account.network}`,
      );
      continue;
    }
    if (terms.payTo.principal === account.address) {
      refuse('invalid_payment_requirements', 'payTo is the paying account itself');
      continue;
    }
    const refusal = policy.check(terms);
    if (refusal) {
      policyRefusal ??= { requirements: offer.requirements, refusal };
      refuse(refusal.reason, refusal.message);
      continue;
    }
    payable.push({ ...offer, terms });
  }
  return { payable, refusals, policyRefusal };
}
