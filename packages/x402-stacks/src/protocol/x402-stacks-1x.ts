/**
 * The wire of x402-stacks 1.x, which x402-stacks 2.0 still speaks as its "v1" (`withPaymentInterceptor`,
 * `paymentMiddlewareV1`). It is not x402 v1: the 402 body is one flat request, `X-PAYMENT` carries the signed
 * transaction as raw hex (not base64 JSON), and its facilitator calls `/api/v1/settle` and `/api/v1/verify` with
 * snake_case bodies. We read all of it; we emit only the 402 body (opt-in) and the facilitator answers.
 * @module
 */
import { z } from 'zod';
import { AmountV1Schema } from './v1.js';
import { NonEmptyStringSchema, optionalOrNull, wireObject } from './wire-object.js';

// A serialized Stacks transaction is never shorter than this (version, chain id, auth, payload): 90 bytes.
const MIN_TRANSACTION_HEX = 180;
const HEX = /^(0x)?(?:[0-9a-fA-F]{2})+$/;

/**
 * Whether an `X-PAYMENT` value is a raw signed transaction in hex (x402-stacks 1.x) rather than base64 JSON
 * (x402 v1). Unambiguous: the base64 of a JSON object, leading whitespace or not, never starts with two hex digits
 * (`{"` is `ey`; `\t{` is `CX`), so it is never all hex.
 * @example
 * ```ts
 * isRawTransactionHex('80800000000400…'); // true
 * isRawTransactionHex('eyJ4NDAyVmVyc2lvbiI6MX0='); // false
 * ```
 */
export function isRawTransactionHex(value: string): boolean {
  return value.replace(/^0x/, '').length >= MIN_TRANSACTION_HEX && HEX.test(value);
}

/**
 * The asset symbol of each x402-stacks 1.x token type, keyed by its upper-case spelling.
 * @example
 * ```ts
 * LEGACY_TOKEN_TYPES.SBTC; // 'sBTC'
 * ```
 */
export const LEGACY_TOKEN_TYPES = { STX: 'STX', SBTC: 'sBTC', USDCX: 'USDCx' } as const;

/**
 * A token type of x402-stacks 1.x, in any of the spellings it sends (`X-PAYMENT-TOKEN-TYPE: sBTC`,
 * `token_type: 'SBTC'`), read without case into our asset symbol.
 * @example
 * ```ts
 * LegacyTokenTypeSchema.parse('SBTC'); // 'sBTC'
 * ```
 */
export const LegacyTokenTypeSchema = z
  .string()
  .refine((value) => Object.hasOwn(LEGACY_TOKEN_TYPES, value.toUpperCase()), {
    error: "Expected 'STX', 'sBTC' or 'USDCx'.",
  })
  .transform((value) => LEGACY_TOKEN_TYPES[value.toUpperCase() as keyof typeof LEGACY_TOKEN_TYPES]);

/** The two network names x402-stacks 1.x knows. */
const LegacyNetworkSchema = z.enum(['mainnet', 'testnet'], {
  error: "Expected 'mainnet' or 'testnet'.",
});

/**
 * The 402 body of x402-stacks 1.x: one payment, flat. `resource` is the path; `nonce` becomes the memo.
 * @example
 * ```ts
 * LegacyPaymentRequestSchema.parse({
 *   maxAmountRequired: '1000', resource: '/weather', payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
 *   network: 'testnet', nonce: '9f86d081884c7d65', expiresAt: '2026-12-01T08:00:00.000Z',
 * });
 * ```
 */
export const LegacyPaymentRequestSchema = wireObject({
  maxAmountRequired: AmountV1Schema,
  resource: z.string(),
  payTo: NonEmptyStringSchema,
  network: LegacyNetworkSchema,
  nonce: z.string(),
  expiresAt: z.iso.datetime({ offset: true }),
  tokenType: optionalOrNull(LegacyTokenTypeSchema),
  tokenContract: optionalOrNull(
    wireObject({ address: NonEmptyStringSchema, name: NonEmptyStringSchema }),
  ),
});
/**
 * The 402 body of x402-stacks 1.x.
 * @example
 * ```ts
 * const request: LegacyPaymentRequest = LegacyPaymentRequestSchema.parse(await response.json());
 * ```
 */
export type LegacyPaymentRequest = z.infer<typeof LegacyPaymentRequestSchema>;

const LegacyTermsShape = {
  expected_recipient: NonEmptyStringSchema,
  // Sent as a JavaScript number; a fraction or a number past 2^53 - 1 is refused, never rounded.
  min_amount: AmountV1Schema,
  expected_sender: optionalOrNull(NonEmptyStringSchema),
  network: LegacyNetworkSchema,
  resource: optionalOrNull(z.string()),
  method: optionalOrNull(z.string()),
  token_type: optionalOrNull(LegacyTokenTypeSchema),
};

/**
 * The body x402-stacks 2.0's `paymentMiddlewareV1` posts to `{facilitatorUrl}/api/v1/settle`: a signed, unbroadcast
 * transaction and the terms it must meet. It names no token contract: the token type's default for the network.
 * @example
 * ```ts
 * LegacySettleRequestSchema.parse({
 *   signed_transaction: hex, expected_recipient: SELLER, min_amount: 1000, network: 'testnet', token_type: 'STX',
 * });
 * ```
 */
export const LegacySettleRequestSchema = wireObject({
  signed_transaction: z.string().refine(isRawTransactionHex, {
    error: 'Expected a signed Stacks transaction in hex.',
  }),
  ...LegacyTermsShape,
});
/**
 * The body of an x402-stacks 1.x settle call.
 * @example
 * ```ts
 * const { signed_transaction, min_amount } = LegacySettleRequestSchema.parse(body);
 * ```
 */
export type LegacySettleRequest = z.infer<typeof LegacySettleRequestSchema>;

/**
 * The body x402-stacks 2.0's `paymentMiddlewareV1` posts to `/api/v1/verify` for a transaction the buyer broadcast
 * itself (its legacy `X-PAYMENT-TXID` path).
 * @example
 * ```ts
 * LegacyVerifyRequestSchema.parse({ tx_id: txid, expected_recipient: SELLER, min_amount: 1000, network: 'testnet' });
 * ```
 */
export const LegacyVerifyRequestSchema = wireObject({
  tx_id: NonEmptyStringSchema,
  expected_memo: optionalOrNull(z.string()),
  ...LegacyTermsShape,
});
/**
 * The body of an x402-stacks 1.x verify call.
 * @example
 * ```ts
 * const { tx_id } = LegacyVerifyRequestSchema.parse(body);
 * ```
 */
export type LegacyVerifyRequest = z.infer<typeof LegacyVerifyRequestSchema>;
