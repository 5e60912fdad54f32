/**
 * The reason codes the seller's side adds to the protocol's: they travel in the `error` field of the middleware's
 * JSON answers and in `X402StacksError.reason`. Codes from the facilitator (`insufficient_funds`,
 * `duplicate_settlement`, `invalid_exact_stacks_payload_*`, …) are passed through unchanged.
 * @module
 */

/**
 * Reason codes of the resource server, with a one-line explanation each.
 *
 * @example
 * ```ts
 * import { SERVER_REASON_CODES } from 'x402-stacks/server';
 * SERVER_REASON_CODES.payment_required; // 'The resource needs a payment; pay one of accepts[] and retry.'
 * ```
 */
export const SERVER_REASON_CODES = {
  payment_required: 'The resource needs a payment; pay one of accepts[] and retry.',
  accepted_requirements_mismatch:
    'The payment accepts none of the requirements this route offers (amount, asset, payTo, network or scheme differ).',
  facilitator_unreachable: 'The facilitator could not be reached or did not answer in time.',
  facilitator_bad_response:
    'The facilitator answered with an unexpected status or a body that fails its schema.',
  payment_refused: 'The seller’s paymentValidator refused this payment; nothing was settled.',
  invalid_price: 'The route’s pricing function returned a price that cannot be paid.',
  invalid_server_config:
    'The payment middleware or facilitator client options are missing or inconsistent.',
} as const;

/**
 * A reason code of the resource server.
 * @example
 * ```ts
 * const reason: ServerReasonCode = 'facilitator_unreachable';
 * ```
 */
export type ServerReasonCode = keyof typeof SERVER_REASON_CODES;
