/**
 * The terms a settlement is bound to: network, amount, asset, payTo and the resource it was settled for. A retry of
 * a payment is answered from the ledger only under the same terms, so a payment made for one route and price never
 * answers for another.
 * @module
 */
import { assetKey } from '../stacks/assets.js';
import { boundResource } from '../stacks/payment/bound-resource.js';
import { isTermsProblem, resolvePaymentTerms } from '../stacks/payment/terms.js';
import type { FacilitatorContext } from './context.js';
import type { SettlementRecord } from './ledger.js';
import { parsePaymentPayload, parsePaymentRequirements } from './parsed-payment.js';

/**
 * The resource URL a settle request names (`paymentPayload.resource.url`), kept with the claim in its bound form
 * (`boundResource`: a URL too long to keep is kept by its digest). The seller's own client writes its route there.
 * @example
 * ```ts
 * const resource = resourceOf(payloadInput); // 'https://api.example.com/weather' or undefined
 * ```
 */
export function resourceOf(payloadInput: unknown): string | undefined {
  const payload = parsePaymentPayload(payloadInput);
  const url = payload.success ? payload.data.resource?.url : undefined;
  return url === undefined ? undefined : boundResource(url);
}

/**
 * Whether the requirements of a retry are the money terms the ledger holds for the payment: network, amount, payTo
 * and asset.
 * @example
 * ```ts
 * if (!sameTerms(record, requirementsInput, context)) return duplicate(record);
 * ```
 */
export function sameTerms(
  record: SettlementRecord,
  requirementsInput: unknown,
  context: FacilitatorContext,
): boolean {
  const requirements = parsePaymentRequirements(requirementsInput);
  if (!requirements.success) return false;
  const terms = resolvePaymentTerms(requirements.data, context.checkOptions.tokens);
  return (
    !isTermsProblem(terms) &&
    terms.network.caip2 === record.network &&
    terms.amount === record.amount &&
    terms.payTo.principal === record.payTo &&
    assetKey(terms.asset) === record.asset
  );
}

/**
 * Whether a retry names the resource the settlement was recorded for. A settlement recorded without one (before
 * ledgers kept it, or named by none) is bound to nothing, and matches no retry.
 * @example
 * ```ts
 * const promotable = sameResource(record, payloadInput) && sameTerms(record, requirementsInput, context);
 * ```
 */
export function sameResource(record: SettlementRecord, payloadInput: unknown): boolean {
  return record.resource !== undefined && record.resource === resourceOf(payloadInput);
}
