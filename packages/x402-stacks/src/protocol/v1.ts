/**
 * The x402 v1 wire types, kept apart from v2 so neither version's quirks leak into the other. v1
 * names networks (`'testnet'`, `'base-sepolia'`) instead of CAIP-2 ids, calls the amount
 * `maxAmountRequired`, and puts the resource description on each requirement. Same conventions as
 * v2: loose objects, `null` accepted for optional fields, amounts as atomic decimal strings.
 * @module
 */
import { z } from 'zod';
import { AtomicAmountSchema } from './v2.js';
import {
  JsonRecordSchema,
  NonEmptyStringSchema,
  optionalOrNull,
  wireObject,
} from './wire-object.js';

const V1_AMOUNT_MESSAGE =
  'Expected atomic units: a decimal string such as "1000", or a safe non-negative integer.';

/**
 * A v1 amount. The v1 settle response documents `amount` as a number, so a safe non-negative
 * integer is accepted as well as an atomic string; the output is always the atomic string.
 * Fractions and integers beyond 2^53 - 1 are refused rather than rounded.
 *
 * @example
 * ```ts
 * AmountV1Schema.parse(1000); // '1000'
 * AmountV1Schema.parse('1000'); // '1000'
 * AmountV1Schema.parse(1.5); // throws
 * ```
 */
export const AmountV1Schema = z.union(
  [
    AtomicAmountSchema,
    z
      .int()
      .nonnegative()
      .transform((amount) => String(amount)),
  ],
  { error: V1_AMOUNT_MESSAGE },
);
/**
 * A v1 amount after parsing: always an atomic decimal string.
 * @example
 * ```ts
 * const amount: AmountV1 = '1000';
 * ```
 */
export type AmountV1 = z.infer<typeof AmountV1Schema>;

/**
 * One way to pay in a v1 challenge.
 *
 * @example
 * ```ts
 * PaymentRequirementsV1Schema.parse({
 *   scheme: 'exact', network: 'testnet', maxAmountRequired: '1000', asset: 'STX',
 *   resource: 'https://api.example.com/weather', description: 'Weather', mimeType: 'text/plain',
 *   payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5', maxTimeoutSeconds: 300,
 * });
 * ```
 */
export const PaymentRequirementsV1Schema = wireObject({
  scheme: NonEmptyStringSchema,
  network: NonEmptyStringSchema,
  maxAmountRequired: AtomicAmountSchema,
  resource: NonEmptyStringSchema,
  description: z.string(),
  mimeType: z.string(),
  outputSchema: optionalOrNull(JsonRecordSchema),
  payTo: NonEmptyStringSchema,
  maxTimeoutSeconds: z.int().positive(),
  asset: NonEmptyStringSchema,
  extra: optionalOrNull(JsonRecordSchema),
});
/**
 * One way to pay in a v1 challenge.
 * @example
 * ```ts
 * const first: PaymentRequirementsV1 | undefined = challenge.accepts[0];
 * ```
 */
export type PaymentRequirementsV1 = z.infer<typeof PaymentRequirementsV1Schema>;

/**
 * The v1 challenge, sent as the JSON body of the 402 response (v1 has no `payment-required`
 * header).
 *
 * @example
 * ```ts
 * PaymentRequiredV1Schema.parse(await response.json());
 * ```
 */
export const PaymentRequiredV1Schema = wireObject({
  x402Version: z.literal(1),
  error: optionalOrNull(z.string()),
  accepts: z.array(PaymentRequirementsV1Schema),
});
/**
 * The v1 challenge.
 * @example
 * ```ts
 * const challenge: PaymentRequiredV1 = { x402Version: 1, accepts: [requirementsV1] };
 * ```
 */
export type PaymentRequiredV1 = z.infer<typeof PaymentRequiredV1Schema>;

/**
 * The v1 payment, sent base64-encoded in the `x-payment` header.
 *
 * @example
 * ```ts
 * const payload = { transaction: signedTransactionHex };
 * PaymentPayloadV1Schema.parse({ x402Version: 1, scheme: 'exact', network: 'testnet', payload });
 * ```
 */
export const PaymentPayloadV1Schema = wireObject({
  x402Version: z.literal(1),
  scheme: NonEmptyStringSchema,
  network: NonEmptyStringSchema,
  payload: JsonRecordSchema,
});
/**
 * The v1 payment.
 * @example
 * ```ts
 * const payment: PaymentPayloadV1 = { x402Version: 1, scheme: 'exact', network, payload };
 * ```
 */
export type PaymentPayloadV1 = z.infer<typeof PaymentPayloadV1Schema>;

/**
 * The body of a v1 verify request.
 *
 * @example
 * ```ts
 * VerifyRequestV1Schema.parse({ x402Version: 1, paymentPayload, paymentRequirements });
 * ```
 */
export const VerifyRequestV1Schema = wireObject({
  x402Version: z.literal(1),
  paymentPayload: PaymentPayloadV1Schema,
  paymentRequirements: PaymentRequirementsV1Schema,
});
/**
 * The body of a v1 verify request.
 * @example
 * ```ts
 * const body: VerifyRequestV1 = { x402Version: 1, paymentPayload, paymentRequirements };
 * ```
 */
export type VerifyRequestV1 = z.infer<typeof VerifyRequestV1Schema>;

/**
 * The body of a v1 settle request; the same shape as {@link VerifyRequestV1Schema}.
 * @alias
 *
 * @example
 * ```ts
 * SettleRequestV1Schema.parse({ x402Version: 1, paymentPayload, paymentRequirements });
 * ```
 */
export const SettleRequestV1Schema = VerifyRequestV1Schema;
/**
 * The body of a v1 settle request.
 * @example
 * ```ts
 * const body: SettleRequestV1 = { x402Version: 1, paymentPayload, paymentRequirements };
 * ```
 */
export type SettleRequestV1 = z.infer<typeof SettleRequestV1Schema>;

/**
 * The facilitator's answer to a v1 verify request.
 *
 * @example
 * ```ts
 * VerifyResponseV1Schema.parse({ isValid: true, payer: 'ST1SJ3…' });
 * ```
 */
export const VerifyResponseV1Schema = wireObject({
  isValid: z.boolean(),
  invalidReason: optionalOrNull(z.string()),
  payer: optionalOrNull(z.string()),
});
/**
 * The facilitator's answer to a v1 verify request.
 * @example
 * ```ts
 * const refused: VerifyResponseV1 = { isValid: false, invalidReason: 'insufficient_funds' };
 * ```
 */
export type VerifyResponseV1 = z.infer<typeof VerifyResponseV1Schema>;

/**
 * The v1 settlement receipt, sent base64-encoded in `x-payment-response`: the documented `{ txId,
 * amount, sender }` plus the optional fields v1 servers add. `amount` parses to an atomic string
 * even when sent as a number.
 *
 * @example
 * ```ts
 * SettleResponseV1Schema.parse({ txId: '0xab…', amount: 1000, sender: 'ST1…' }).amount; // '1000'
 * ```
 */
export const SettleResponseV1Schema = wireObject({
  txId: z.string(),
  amount: AmountV1Schema,
  sender: z.string(),
  success: optionalOrNull(z.boolean()),
  error: optionalOrNull(z.string()),
  errorReason: optionalOrNull(z.string()),
  network: optionalOrNull(z.string()),
});
/**
 * The v1 settlement receipt.
 * @example
 * ```ts
 * const receipt: SettleResponseV1 = { txId: '0xab…', amount: '1000', sender: 'ST1…' };
 * ```
 */
export type SettleResponseV1 = z.infer<typeof SettleResponseV1Schema>;
