/**
 * The x402 v2 wire types as zod schemas, with the TypeScript types inferred from them.
 *
 * Conventions shared by every object schema here:
 * - unknown keys pass through, so a peer on a newer protocol revision is not refused for adding a
 *   field;
 * - optional fields accept `null` (the reference SDK emits it) and parse to an absent key;
 * - amounts are atomic-unit decimal strings, never JavaScript numbers.
 * @module
 */
import { z } from 'zod';
import {
  JsonRecordSchema,
  NonEmptyStringSchema,
  optionalOrNull,
  wireObject,
} from './wire-object.js';

// CAIP-2: namespace [-a-z0-9]{3,8}, reference [-_a-zA-Z0-9]{1,32}.
const CAIP_2_PATTERN = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
const ATOMIC_AMOUNT_PATTERN = /^(0|[1-9][0-9]*)$/;
const ATOMIC_AMOUNT_MESSAGE =
  'Expected atomic units as a decimal string without sign or leading zeros, such as "1000".';

/**
 * A CAIP-2 chain id, `namespace:reference`, as v2 names networks.
 *
 * @example
 * ```ts
 * NetworkIdSchema.parse('stacks:2147483648'); // Stacks testnet
 * NetworkIdSchema.parse('testnet'); // throws: v1 names are not v2 network ids
 * ```
 */
export const NetworkIdSchema = z.custom<`${string}:${string}`>(
  (value) => typeof value === 'string' && CAIP_2_PATTERN.test(value),
  { error: 'Expected a CAIP-2 network id such as "stacks:1" or "stacks:2147483648".' },
);
/**
 * A CAIP-2 network id.
 * @example
 * ```ts
 * const mainnet: NetworkId = 'stacks:1';
 * ```
 */
export type NetworkId = z.infer<typeof NetworkIdSchema>;

/**
 * An amount in the asset's smallest unit, as a decimal string (`"0"`, `"1000"`; never `"01"`,
 * `"-1"`, `"1.5"`). A JavaScript number is refused, because money must not pass through a float; a
 * non-negative `bigint` is accepted on input and becomes its decimal string.
 *
 * @example
 * ```ts
 * AtomicAmountSchema.parse('1000'); // '1000'
 * AtomicAmountSchema.parse(1000n); // '1000'
 * AtomicAmountSchema.parse(1000); // throws
 * ```
 */
export const AtomicAmountSchema = z.union(
  [
    z.string().regex(ATOMIC_AMOUNT_PATTERN, ATOMIC_AMOUNT_MESSAGE),
    z.bigint().nonnegative().transform(String),
  ],
  { error: ATOMIC_AMOUNT_MESSAGE },
);
/**
 * An atomic-unit amount as a decimal string.
 * @example
 * ```ts
 * const oneStx: AtomicAmount = '1000000'; // micro-STX
 * ```
 */
export type AtomicAmount = z.infer<typeof AtomicAmountSchema>;

/**
 * The protected resource a 402 challenge is about. The Bazaar limits on `serviceName`, `tags` and
 * `iconUrl` are not enforced here: a challenge that breaks them is still payable, and discovery is
 * where they matter.
 *
 * @example
 * ```ts
 * ResourceInfoSchema.parse({ url: 'https://api.example.com/weather', mimeType: 'text/plain' });
 * ```
 */
export const ResourceInfoSchema = wireObject({
  url: NonEmptyStringSchema,
  description: optionalOrNull(z.string()),
  mimeType: optionalOrNull(z.string()),
  serviceName: optionalOrNull(z.string()),
  tags: optionalOrNull(z.array(z.string())),
  iconUrl: optionalOrNull(z.string()),
});
/**
 * The protected resource a 402 challenge is about.
 * @example
 * ```ts
 * const resource: ResourceInfo = { url: 'https://api.example.com/weather' };
 * ```
 */
export type ResourceInfo = z.infer<typeof ResourceInfoSchema>;

/**
 * One way to pay: an entry of `accepts[]`, echoed verbatim as the payload's `accepted`.
 *
 * @example
 * ```ts
 * PaymentRequirementsSchema.parse({
 *   scheme: 'exact', network: 'stacks:2147483648', amount: '1000', asset: 'STX',
 *   payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5', maxTimeoutSeconds: 300,
 * });
 * ```
 */
export const PaymentRequirementsSchema = wireObject({
  scheme: NonEmptyStringSchema,
  network: NetworkIdSchema,
  amount: AtomicAmountSchema,
  asset: NonEmptyStringSchema,
  payTo: NonEmptyStringSchema,
  maxTimeoutSeconds: z.int().positive(),
  extra: optionalOrNull(JsonRecordSchema),
});
/**
 * One way to pay, as listed in `accepts[]`.
 * @example
 * ```ts
 * const sbtc: PaymentRequirements = {
 *   scheme: 'exact', network: 'stacks:1', amount: '100', payTo: 'SP…', maxTimeoutSeconds: 300,
 *   asset: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
 * };
 * ```
 */
export type PaymentRequirements = z.infer<typeof PaymentRequirementsSchema>;

/**
 * The 402 challenge, sent base64-encoded in the `payment-required` header. `accepts` may be empty:
 * the spec allows a server to say "payment required" with nothing it can take right now.
 *
 * @example
 * ```ts
 * PaymentRequiredSchema.parse({ x402Version: 2, resource: { url: '/weather' }, accepts: [] });
 * ```
 */
export const PaymentRequiredSchema = wireObject({
  x402Version: z.literal(2),
  error: optionalOrNull(z.string()),
  resource: ResourceInfoSchema,
  accepts: z.array(PaymentRequirementsSchema),
  extensions: optionalOrNull(JsonRecordSchema),
});
/**
 * The 402 challenge.
 * @example
 * ```ts
 * const challenge: PaymentRequired = { x402Version: 2, resource, accepts: [requirements] };
 * ```
 */
export type PaymentRequired = z.infer<typeof PaymentRequiredSchema>;

/**
 * The client's payment, sent base64-encoded in the `payment-signature` header. `payload` is
 * scheme-specific (for Stacks `exact`: `{ transaction: <signed transaction hex> }`).
 *
 * @example
 * ```ts
 * PaymentPayloadSchema.parse({ x402Version: 2, accepted: requirements, payload: { transaction } });
 * ```
 */
export const PaymentPayloadSchema = wireObject({
  x402Version: z.literal(2),
  resource: optionalOrNull(ResourceInfoSchema),
  accepted: PaymentRequirementsSchema,
  payload: JsonRecordSchema,
  extensions: optionalOrNull(JsonRecordSchema),
});
/**
 * The client's payment.
 * @example
 * ```ts
 * const payment: PaymentPayload = { x402Version: 2, accepted, payload: { transaction } };
 * ```
 */
export type PaymentPayload = z.infer<typeof PaymentPayloadSchema>;

/**
 * The body of `POST /verify`.
 *
 * @example
 * ```ts
 * VerifyRequestSchema.parse({ x402Version: 2, paymentPayload, paymentRequirements });
 * ```
 */
export const VerifyRequestSchema = wireObject({
  x402Version: z.literal(2),
  paymentPayload: PaymentPayloadSchema,
  paymentRequirements: PaymentRequirementsSchema,
});
/**
 * The body of `POST /verify`.
 * @example
 * ```ts
 * const body: VerifyRequest = { x402Version: 2, paymentPayload, paymentRequirements };
 * ```
 */
export type VerifyRequest = z.infer<typeof VerifyRequestSchema>;

/**
 * The body of `POST /settle`; the same shape as {@link VerifyRequestSchema}.
 * @alias
 *
 * @example
 * ```ts
 * SettleRequestSchema.parse({ x402Version: 2, paymentPayload, paymentRequirements });
 * ```
 */
export const SettleRequestSchema = VerifyRequestSchema;
/**
 * The body of `POST /settle`.
 * @example
 * ```ts
 * const body: SettleRequest = { x402Version: 2, paymentPayload, paymentRequirements };
 * ```
 */
export type SettleRequest = z.infer<typeof SettleRequestSchema>;

/**
 * The facilitator's answer to `/verify`. A refused payment is `isValid: false` with a reason code,
 * not an HTTP error.
 *
 * @example
 * ```ts
 * VerifyResponseSchema.parse({ isValid: false, invalidReason: 'insufficient_funds' });
 * ```
 */
export const VerifyResponseSchema = wireObject({
  isValid: z.boolean(),
  invalidReason: optionalOrNull(z.string()),
  invalidMessage: optionalOrNull(z.string()),
  payer: optionalOrNull(z.string()),
  extensions: optionalOrNull(JsonRecordSchema),
  extra: optionalOrNull(JsonRecordSchema),
});
/**
 * The facilitator's answer to `/verify`.
 * @example
 * ```ts
 * const ok: VerifyResponse = { isValid: true, payer: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' };
 * ```
 */
export type VerifyResponse = z.infer<typeof VerifyResponseSchema>;

/**
 * The facilitator's answer to `/settle`, also sent base64-encoded to the buyer in
 * `payment-response`.
 *
 * - `transaction` is `""` when nothing was broadcast. It must be set on success, and for
 *   `settlement_pending`: the transaction is out but unconfirmed, so `success` is `false` and the
 *   resource must not be served.
 * - `network` may be `""` on a failure, as x402-rs sends it; a success names a CAIP-2 network.
 * - `amount` is the amount actually settled, when it differs from the requirements (`upto`).
 *
 * @example
 * ```ts
 * SettleResponseSchema.parse({ success: true, transaction: '0xab…', network: 'stacks:1' });
 * const pending = { success: false, errorReason: 'settlement_pending', transaction: '' };
 * SettleResponseSchema.parse({ ...pending, network: 'stacks:1' });
 * // throws: a pending settlement must name its transaction
 * ```
 */
export const SettleResponseSchema = wireObject({
  success: z.boolean(),
  errorReason: optionalOrNull(z.string()),
  errorMessage: optionalOrNull(z.string()),
  payer: optionalOrNull(z.string()),
  transaction: z.string(),
  network: z.union([NetworkIdSchema, z.literal('')], {
    error: 'Expected a CAIP-2 network id, or "" for a failure.',
  }),
  amount: optionalOrNull(AtomicAmountSchema),
  extensions: optionalOrNull(JsonRecordSchema),
  extra: optionalOrNull(JsonRecordSchema),
}).superRefine((response, context) => {
  const pending = response.errorReason === 'settlement_pending';
  if (pending && response.success) {
    context.addIssue({
      code: 'custom',
      path: ['success'],
      message: 'A settlement_pending response must have success: false.',
    });
  }
  // A batch-settlement voucher charges off chain: its success names no transaction, and carries the channel instead.
  const offChain = response.success && typeof response.extra?.channelState === 'object';
  if ((pending || response.success) && response.transaction === '' && !offChain) {
    context.addIssue({
      code: 'custom',
      path: ['transaction'],
      message: 'A successful or settlement_pending response must name its transaction.',
    });
  }
  if (response.success && response.network === '') {
    context.addIssue({
      code: 'custom',
      path: ['network'],
      message: 'A successful response must name its network.',
    });
  }
});
/**
 * The facilitator's answer to `/settle`, and the buyer's receipt.
 * @example
 * ```ts
 * const receipt: SettleResponse = { success: true, transaction: '0xab…', network: 'stacks:1' };
 * ```
 */
export type SettleResponse = z.infer<typeof SettleResponseSchema>;

/**
 * One (version, scheme, network) a facilitator supports. `network` is a plain string because v1
 * kinds name their network (`'testnet'`) where v2 kinds use CAIP-2. `extra` carries facilitator
 * parameters, such as a sponsor address.
 *
 * @example
 * ```ts
 * SupportedKindSchema.parse({ x402Version: 2, scheme: 'exact', network: 'stacks:1' });
 * ```
 */
export const SupportedKindSchema = wireObject({
  x402Version: z.literal([1, 2]),
  scheme: NonEmptyStringSchema,
  network: NonEmptyStringSchema,
  extra: optionalOrNull(JsonRecordSchema),
});
/**
 * One kind of payment a facilitator supports.
 * @example
 * ```ts
 * const kind: SupportedKind = { x402Version: 2, scheme: 'exact', network: 'stacks:2147483648' };
 * ```
 */
export type SupportedKind = z.infer<typeof SupportedKindSchema>;

/**
 * The facilitator's answer to `GET /supported`. Older facilitators omit `extensions` and `signers`;
 * they parse as `[]` and `{}`.
 *
 * @example
 * ```ts
 * SupportedResponseSchema.parse({ kinds: [] }); // { kinds: [], extensions: [], signers: {} }
 * ```
 */
export const SupportedResponseSchema = wireObject({
  kinds: z.array(SupportedKindSchema),
  extensions: orFresh(z.array(z.string()), () => []),
  signers: orFresh(z.record(z.string(), z.array(z.string())), () => ({})),
});
/**
 * The facilitator's answer to `GET /supported`.
 * @example
 * ```ts
 * const supported: SupportedResponse = { kinds, extensions: [], signers: { 'stacks:*': ['SP…'] } };
 * ```
 */
export type SupportedResponse = z.infer<typeof SupportedResponseSchema>;

// A fresh fallback per parse (unlike a shared `.default([])` value), so mutating one result cannot
// leak into the next.
function orFresh<T extends z.ZodType>(schema: T, fallback: () => z.output<T>) {
  return schema.nullish().transform((value): z.output<T> => value ?? fallback());
}
