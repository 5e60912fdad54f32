/**
 * Why a bazaar declaration was refused, by a seller's startup check or by a facilitator's catalog. Stable snake_case
 * codes with one sentence each.
 * @module
 */

/**
 * Every reason a bazaar declaration is refused, with its explanation.
 * @example
 * ```ts
 * BAZAAR_REASON_CODES.bazaar_declaration_too_large; // 'the declaration is larger than …'
 * ```
 */
export const BAZAAR_REASON_CODES = {
  bazaar_declaration_malformed:
    'extensions.bazaar is not a bazaar declaration ({ info: { input, output? }, schema })',
  bazaar_declaration_too_large:
    'the declaration is larger than the catalog accepts for one resource',
  bazaar_schema_external_ref:
    'the declaration’s schema refers outside itself ($ref or $id not starting with #)',
  bazaar_resource_invalid: 'the payment names no http(s) resource URL to list',
  bazaar_payment_not_settled: 'only a payment that settled successfully is the cost of a listing',
  bazaar_payto_cap_reached:
    'this payTo already has as many listings as the catalog keeps per payTo',
  bazaar_catalog_full: 'the catalog holds as many listings as it keeps in total',
} as const;

/**
 * A bazaar refusal code.
 * @example
 * ```ts
 * const reason: BazaarReasonCode = 'bazaar_catalog_full';
 * ```
 */
export type BazaarReasonCode = keyof typeof BAZAAR_REASON_CODES;
