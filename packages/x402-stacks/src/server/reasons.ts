/**
 * The reason codes the seller's side adds to the protocol's: they travel in the `error` field of the middleware's
 * JSON answers and in `X402StacksError.reason`. Codes from the facilitator (`insufficient_funds`,
 * `duplicate_settlement`, `invalid_exact_stacks_payload_*`, …) are passed through unchanged.
 * @module
 */
import { pickReasons } from '../protocol/reasons.js';

/**
 * Reason codes of the resource server, with a one-line explanation each.
 *
 * @example
 * ```ts
 * import { SERVER_REASON_CODES } from 'x402-stacks/server';
 * SERVER_REASON_CODES.payment_required; // 'The resource needs a payment; pay one of accepts[] and retry.'
 * ```
 */
export const SERVER_REASON_CODES = pickReasons([
  'payment_required',
  'accepted_requirements_mismatch',
  'facilitator_unreachable',
  'facilitator_bad_response',
  'payment_refused',
  'payment_in_progress',
  'invalid_price',
  'invalid_server_config',
  'payment_identifier_required',
  'invalid_payment_identifier',
  'invalid_siwx_header',
  'invalid_siwx_domain_mismatch',
  'invalid_siwx_uri_mismatch',
  'invalid_siwx_unsupported_chain',
  'invalid_siwx_chain_id',
  'invalid_siwx_issued_at_in_future',
  'invalid_siwx_expired',
  'invalid_siwx_not_yet_valid',
  'invalid_siwx_nonce',
  'invalid_siwx_nonce_reused',
  'invalid_siwx_malformed_signature',
  'invalid_siwx_high_s_signature',
  'invalid_siwx_signature',
  'siwx_capacity_exceeded',
]);

/**
 * A reason code of the resource server.
 * @example
 * ```ts
 * const reason: ServerReasonCode = 'facilitator_unreachable';
 * ```
 */
export type ServerReasonCode = keyof typeof SERVER_REASON_CODES;
