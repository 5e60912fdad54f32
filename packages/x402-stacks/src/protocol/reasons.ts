/**
 * Every reason code x402-stacks emits, with a one-line explanation. Codes are protocol, not prose: they travel in
 * `invalidReason` / `errorReason` and in `X402StacksError.reason`, and they never change meaning.
 * @module
 */

/**
 * Reason codes and their explanations.
 *
 * - The x402 v2 specification's codes (§9), plus `settlement_pending` and `duplicate_settlement`.
 * - Stacks `exact` scheme codes, named `invalid_exact_stacks_payload_*` after the spec's convention.
 * - Codec and input codes used by the library's thrown errors.
 *
 * @example
 * ```ts
 * import { REASON_CODES } from 'x402-stacks';
 * REASON_CODES.invalid_exact_stacks_payload_amount_mismatch;
 * // 'The transferred amount is not exactly the required amount.'
 * ```
 */
export const REASON_CODES = {
  // x402 specification
  insufficient_funds: 'The payer cannot cover the amount plus the fee.',
  invalid_network: 'The network is not one this party supports.',
  invalid_payload: 'The payment payload is malformed or fails its schema.',
  invalid_payment_requirements: 'The payment requirements are malformed or unsupported.',
  invalid_scheme: 'The scheme is not valid for this payment.',
  unsupported_payment_flow:
    'The requirements name a payment flow (`extra.paymentFlow`) this party does not implement.',
  unsupported_scheme: 'The scheme is not supported here.',
  invalid_x402_version: 'The x402Version is not supported.',
  invalid_transaction_state: 'The transaction is in a state that cannot satisfy this payment.',
  unexpected_verify_error: 'Verification failed for an unexpected reason.',
  unexpected_settle_error: 'Settlement failed for an unexpected reason.',
  settlement_pending:
    'The transaction was broadcast but is not confirmed yet; the resource must not be served.',
  duplicate_settlement: 'This payment was already settled once and cannot be settled again.',
  transaction_failed: 'The transaction was mined but failed, or was dropped.',
  broadcast_failed: 'The node refused the transaction.',

  // Stacks exact scheme: the transaction itself
  invalid_exact_stacks_payload_transaction:
    'The payload has no transaction, or it is not a hex string of a Stacks transaction.',
  invalid_exact_stacks_payload_transaction_could_not_be_decoded:
    'The transaction bytes could not be deserialized.',
  invalid_exact_stacks_payload_signature:
    'The origin signature does not match the spending condition signer.',
  invalid_exact_stacks_payload_signature_high_s:
    'The origin signature has a high S value, which the node refuses as malleable.',
  invalid_exact_stacks_payload_network:
    'The transaction chain id or version belongs to a different network.',
  invalid_exact_stacks_payload_anchor_mode:
    'The transaction may only be mined in a microblock, which Nakamoto never confirms.',
  invalid_exact_stacks_payload_payload_type:
    'The transaction is neither an STX token transfer nor a SIP-010 transfer call.',
  invalid_exact_stacks_payload_recipient_mismatch: 'The recipient is not the required payTo.',
  invalid_exact_stacks_payload_payer_mismatch:
    'The payer is not the sender the seller expects (x402-stacks 1.x `expected_sender`).',
  invalid_exact_stacks_payload_amount_mismatch:
    'The transferred amount is not exactly the required amount.',
  invalid_exact_stacks_payload_asset_mismatch:
    'The transaction moves a different asset than the requirements name.',
  invalid_exact_stacks_payload_function:
    'The contract call is not the token contract’s `transfer` function.',
  invalid_exact_stacks_payload_arguments:
    'The `transfer` call does not have exactly (uint, principal, principal, optional buff) arguments.',
  invalid_exact_stacks_payload_sender_mismatch:
    'The `transfer` sender is not the transaction origin.',
  invalid_exact_stacks_payload_memo: 'The memo is longer than 34 bytes, or is not valid UTF-8.',
  invalid_exact_stacks_payload_post_condition_mode:
    'Allow mode is not accepted for this asset under the current post-condition policy.',
  invalid_exact_stacks_payload_post_conditions:
    'The post-conditions are missing, loose, or do not pin exactly this amount and asset.',
  invalid_exact_stacks_payload_fee: 'The fee is below 1 micro-STX per byte, or above the cap.',
  invalid_exact_stacks_payload_sponsor:
    'The sponsorship does not match the requirements (sponsored when not offered, or the reverse).',
  invalid_exact_stacks_payload_nonce: 'The nonce is not the account’s next possible nonce.',
  invalid_exact_stacks_payload_txid_reused: 'This transaction id has already been claimed.',
  invalid_exact_stacks_payload_nonce_reused:
    'Another transaction already claimed this (origin, nonce) pair.',

  // Facilitator: what it refuses before spending the operator's money or capacity
  insufficient_funds_in_flight:
    'The payer cannot cover this payment together with its payments still in flight at this facilitator.',
  sponsor_capacity_exhausted:
    'Every sponsor key already has as many pending transactions as the node chains; retry after the next block.',
  sponsor_balance_low: 'No sponsor key holds enough STX to pay the fee.',
  sponsor_limit_exceeded:
    'A sponsorship limit of this facilitator is reached for the window (payments in flight, fees, or failed fees).',
  sponsor_pay_to_not_allowed:
    'This facilitator sponsors payments only to the payTo addresses on its allow-list.',
  nonce_wait_capacity_exhausted:
    'This facilitator already holds as many payments waiting for their payers’ earlier nonces as it allows; retry once the payer’s earlier payments are in the mempool (confirmed, for a sponsored payment).',
  settlement_cancelled:
    'The settle call was cancelled (its caller hung up, or the service stopped) while the payment waited for the payer’s earlier nonces; nothing was sent, and the payment may be settled again.',
  invalid_facilitator_config: 'The facilitator options are missing or inconsistent.',

  // The payment-identifier extension (seller and facilitator)
  invalid_payment_identifier:
    'The payment-identifier extension is malformed: its id must be 16 to 128 letters, digits, _ or -.',
  payment_identifier_required:
    'This route requires a payment-identifier id in the payment payload, and the payment carries none.',
  payment_identifier_conflict:
    'This payer already used this payment id for a different payment; send a new id with a new payment.',

  // Codecs and inputs (thrown errors)
  header_too_large: 'The header exceeds the documented size limit.',
  invalid_header_encoding: 'The header is not standard base64.',
  invalid_header_json: 'The header does not decode to UTF-8 JSON.',
  invalid_header_schema: 'The header JSON does not match the protocol schema.',
  unknown_network: 'The network is neither a known name nor a Stacks CAIP-2 id.',
  unknown_asset: 'The asset is neither a known symbol nor a `<address>.<contract>` id.',
  invalid_amount: 'The amount is not a non-negative decimal with the allowed number of decimals.',
  invalid_address: 'The value is not a valid Stacks address.',
  invalid_private_key: 'The private key is not 64 or 66 hex characters of a valid secp256k1 key.',
  invalid_mnemonic: 'The mnemonic is not a valid BIP39 phrase.',
  invalid_payment_options: 'The options given to build a payment are incomplete or inconsistent.',
  invalid_transaction_id: 'The value is not a 64-hex-character transaction id.',

  // Chain client (thrown errors)
  chain_unreachable:
    'The Stacks node or API could not be reached, timed out, or stayed unavailable after retries.',
  chain_rate_limited: 'The Stacks node or API kept answering 429 Too Many Requests after retries.',
  chain_bad_response:
    'The Stacks node or API answered with an unexpected status or a body that fails its schema.',
  invalid_chain_input:
    'An option or argument given to the chain client is malformed (URL, timeout, transaction hex, asset id).',

  // Seller middleware (the `error` of its JSON answers); the facilitator's codes pass through it unchanged
  payment_required: 'The resource needs a payment; pay one of accepts[] and retry.',
  accepted_requirements_mismatch:
    'The payment accepts none of the requirements this route offers (amount, asset, payTo, network or scheme differ).',
  facilitator_unreachable: 'The facilitator could not be reached or did not answer in time.',
  facilitator_bad_response:
    'The facilitator answered with an unexpected status or a body that fails its schema.',
  payment_refused: 'The seller’s paymentValidator refused this payment; nothing was settled.',
  payment_in_progress:
    'Another request carrying this payment, or another payment on the same payer nonce, is being served; nothing was settled for this one.',
  invalid_price: 'The route’s pricing function returned a price that cannot be paid.',
  invalid_server_config:
    'The payment middleware or facilitator client options are missing or inconsistent.',

  // sign-in-with-x at the seller: why a proof in the `sign-in-with-x` header was not accepted (a 402 follows)
  invalid_siwx_header:
    'The sign-in-with-x header is not base64 of a JSON proof with the extension’s fields.',
  invalid_siwx_domain_mismatch: 'The sign-in proof names another domain than this seller’s.',
  invalid_siwx_uri_mismatch: 'The sign-in proof names another resource than the one requested.',
  invalid_siwx_unsupported_chain:
    'The sign-in proof is for a chain or signature type this seller does not accept (on Stacks: its network, sip018).',
  invalid_siwx_chain_id: 'The sign-in address is not an address of the chain the proof names.',
  invalid_siwx_issued_at_in_future: 'The sign-in proof is issued in the future.',
  invalid_siwx_expired: 'The sign-in challenge has expired; sign a fresh one.',
  invalid_siwx_not_yet_valid: 'The sign-in proof is not valid yet (notBefore).',
  invalid_siwx_nonce:
    'The sign-in challenge was not issued by this seller, or one of its fields was changed.',
  invalid_siwx_nonce_reused: 'The sign-in challenge was already used once; sign a fresh one.',
  invalid_siwx_malformed_signature: 'The sign-in signature is not 65 bytes of RSV hex.',
  invalid_siwx_high_s_signature:
    'The sign-in signature is in its high-S (malleated) form; only low-S is accepted.',
  invalid_siwx_signature:
    'The sign-in signature was not made by the proof’s address over the proof.',
  siwx_capacity_exceeded:
    'The seller holds as many sign-ins as it can for now (in total, or for this address); pay, or sign in later.',

  // Buyer wrappers (thrown errors); they also use insufficient_funds and settlement_pending
  invalid_payment_required: 'The 402 response carries no readable payment challenge.',
  no_acceptable_requirement:
    'None of the offered payment requirements can be paid by this account.',
  payment_over_max_amount: 'The price is above the maximum per payment set for this asset.',
  payment_over_budget: 'Paying would take the total spent past the budget for this asset.',
  payment_over_window_budget:
    'Paying would take what was spent within the rolling window past the window budget for this asset.',
  budget_store_busy:
    'The shared budget store stayed locked by another process for too long; nothing was signed.',
  budget_store_corrupt:
    'The budget store holds a record that cannot be read; nothing is paid until it is repaired.',
  budget_store_unavailable:
    'The budget store cannot be used here (no file system, or the file cannot be opened); nothing was signed.',
  signer_refused: 'The signer refused to sign this transaction (its own policy, or a mismatch).',
  signer_unavailable: 'The signer could not be reached or did not answer; nothing was signed.',
  signer_signature_invalid:
    "The signer's signature does not verify against the payer's public key over the transaction.",
  pay_to_not_allowed: 'The recipient is not in the allowed payTo list.',
  asset_not_allowed: 'The asset is not allowed, or has no maximum per payment.',
  payment_declined: 'The onPaymentRequired hook declined to pay.',
  payment_rejected: 'The server or its facilitator refused the payment; nothing was served.',
  payment_network_error: 'The chain or the server could not be reached while paying.',
  invalid_payer_options: 'The options given to the payer or a wrapper are malformed.',
  request_body_not_replayable:
    'The request body is a stream that cannot be sent twice, so the paid retry could not carry it; nothing was signed.',
  offer_unsigned:
    'The buyer requires signed offers (offer-receipt) and the server sent none for this requirement; nothing was signed.',
  offer_signature_invalid:
    "The server's signed offer does not verify (another signer, domain or chain, altered terms, expired); nothing was signed.",
  // batch-settlement on Stacks (docs/batch-settlement-stacks.md): named after upstream's
  // invalid_batch_settlement_evm_* codes. A deposit transaction is checked like an exact payment's, with its reasons.
  invalid_batch_settlement_stacks_payload:
    'The batch-settlement payload (deposit, voucher or refund) is malformed.',
  invalid_batch_settlement_stacks_escrow:
    'The requirements name an escrow contract this facilitator does not serve on that network.',
  invalid_batch_settlement_stacks_channel_id_mismatch:
    'The channel config does not hash to the channel id the voucher names.',
  invalid_batch_settlement_stacks_receiver_mismatch:
    'The channel receiver is not the payTo of the requirements.',
  invalid_batch_settlement_stacks_receiver_authorizer_mismatch:
    'The channel receiver-authorizer is not the one the requirements (and this facilitator) name.',
  invalid_batch_settlement_stacks_token_mismatch:
    'The channel token is not the asset of the requirements.',
  invalid_batch_settlement_stacks_withdraw_delay_mismatch:
    'The channel withdraw delay is not the one the requirements name.',
  invalid_batch_settlement_stacks_voucher_signature:
    "The voucher signature does not recover to the channel's payer-authorizer.",
  invalid_batch_settlement_stacks_channel_not_found:
    'No channel with a positive balance has this id.',
  invalid_batch_settlement_stacks_cumulative_amount_mismatch:
    "The voucher's cumulative ceiling is not the channel's charged total plus the price; resynchronise from the 402.",
  invalid_batch_settlement_stacks_cumulative_exceeds_balance:
    "The voucher's cumulative ceiling is above what the channel holds; top it up.",
  invalid_batch_settlement_stacks_charge_exceeds_voucher:
    "The charge is above the price, or would take the channel past the voucher's ceiling.",
  invalid_batch_settlement_stacks_channel_withdrawing:
    'The payer started a timed withdrawal from this channel: it takes no new charges.',
  invalid_batch_settlement_stacks_channel_refunding:
    'A refund of this channel is under way: it takes no charge, and no other refund, until that refund ends.',
  invalid_batch_settlement_stacks_channel_busy:
    'Another request is charging this channel right now; retry with a voucher signed from the new total.',
  invalid_batch_settlement_stacks_deposit_transaction:
    "The deposit transaction is not this channel's escrow deposit of the stated amount.",
  invalid_batch_settlement_stacks_deposit_above_cap:
    "The deposit the 402 asks for is above the buyer's deposit cap; nothing was signed.",
  invalid_batch_settlement_stacks_refund_amount_invalid:
    'The refund amount is not a positive integer.',
  invalid_batch_settlement_stacks_refund_no_balance:
    'Nothing the payer was not charged is left in the channel to refund.',
  invalid_batch_settlement_stacks_channel_state_read_failed:
    "The escrow's channel state could not be read from the chain.",
} as const;

/**
 * Any reason code x402-stacks emits.
 * @example
 * ```ts
 * const reason: ReasonCode = 'insufficient_funds';
 * ```
 */
export type ReasonCode = keyof typeof REASON_CODES;

/**
 * The codes one part of the library emits, as a map of its own (`SERVER_REASON_CODES`, `CLIENT_REASON_CODES`), with
 * the explanations kept in the one map above.
 * @example
 * ```ts
 * const SELLER = pickReasons(['payment_required', 'facilitator_unreachable']);
 * ```
 */
export function pickReasons<const Code extends ReasonCode>(
  codes: readonly Code[],
): { readonly [C in Code]: (typeof REASON_CODES)[C] } {
  return Object.freeze(Object.fromEntries(codes.map((code) => [code, REASON_CODES[code]]))) as {
    readonly [C in Code]: (typeof REASON_CODES)[C];
  };
}

/**
 * The one-line explanation of a reason code. Unknown codes (from a peer) get a generic line.
 * @example
 * ```ts
 * if (!verdict.isValid) console.error(describeReason(verdict.invalidReason ?? 'unexpected_verify_error'));
 * ```
 */
export function describeReason(reason: string): string {
  // hasOwn: a peer's reason such as 'constructor' must not reach Object.prototype.
  return Object.hasOwn(REASON_CODES, reason)
    ? (REASON_CODES as Record<string, string>)[reason]!
    : `Unknown reason: ${reason}`;
}
