/**
 * The `payment-identifier` extension: a buyer names a payment with an id of its own, so that a retry of the same
 * payment (the same signed transaction) is answered with the outcome the first attempt got instead of being charged
 * or refused again. The schema, the id format and the three sides' pure steps live here; the roles wire them in.
 * @module
 */
import { z } from 'zod';
import { type ExtensionRead, readExtensionInfo, withExtension } from '../envelope.js';

/**
 * The extension's name, its key in every `extensions` object.
 * @example
 * ```ts
 * paymentRequired.extensions?.[PAYMENT_IDENTIFIER];
 * ```
 */
export const PAYMENT_IDENTIFIER = 'payment-identifier';

/**
 * The shortest id the extension accepts. {@link PaymentIdSchema} refuses anything shorter.
 * @example
 * ```ts
 * const longEnough = id.length >= PAYMENT_ID_MIN_LENGTH; // 16
 * ```
 */
export const PAYMENT_ID_MIN_LENGTH = 16;
/**
 * The longest id the extension accepts.
 * @example
 * ```ts
 * const shortEnough = id.length <= PAYMENT_ID_MAX_LENGTH; // 128
 * ```
 */
export const PAYMENT_ID_MAX_LENGTH = 128;
const ID_CHARACTERS = '^[a-zA-Z0-9_-]+$';

/**
 * A payment id: 16 to 128 characters of `A-Z`, `a-z`, `0-9`, `_` and `-`.
 * @example
 * ```ts
 * PaymentIdSchema.parse('pay_0123456789abcdef'); // ok
 * ```
 */
export const PaymentIdSchema = z
  .string()
  .min(PAYMENT_ID_MIN_LENGTH)
  .max(PAYMENT_ID_MAX_LENGTH)
  .regex(new RegExp(ID_CHARACTERS), 'expected only letters, digits, _ and -');

/**
 * The extension's `info`: the seller's `required` flag (absent in the first published form of the spec, so it
 * defaults to false), and the buyer's `id` once it takes part.
 * @example
 * ```ts
 * PaymentIdentifierInfoSchema.parse({ required: false, id: 'pay_0123456789abcdef' });
 * ```
 */
export const PaymentIdentifierInfoSchema = z.looseObject({
  required: z.boolean().default(false),
  id: PaymentIdSchema.optional(),
});

/**
 * The extension's `info`, as {@link PaymentIdentifierInfoSchema} reads it.
 * @example
 * ```ts
 * const info: PaymentIdentifierInfo = PaymentIdentifierInfoSchema.parse({ id: 'pay_0123456789abcdef' });
 * info.required; // false, the default
 * ```
 */
export type PaymentIdentifierInfo = z.infer<typeof PaymentIdentifierInfoSchema>;

/**
 * The JSON Schema the seller's declaration carries, for a buyer to check its `info` against.
 * @example
 * ```ts
 * declarePaymentIdentifier().schema === PAYMENT_IDENTIFIER_JSON_SCHEMA; // true
 * ```
 */
export const PAYMENT_IDENTIFIER_JSON_SCHEMA = Object.freeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    required: { type: 'boolean' },
    id: {
      type: 'string',
      minLength: PAYMENT_ID_MIN_LENGTH,
      maxLength: PAYMENT_ID_MAX_LENGTH,
      pattern: ID_CHARACTERS,
    },
  },
  required: ['required'],
});

/**
 * The seller's entry for a 402's `extensions`: whether a payment without an id is refused, and the schema.
 * @example
 * ```ts
 * const extensions = { [PAYMENT_IDENTIFIER]: declarePaymentIdentifier({ required: true }) };
 * ```
 */
export function declarePaymentIdentifier(options: { required?: boolean } = {}): {
  info: { required: boolean };
  schema: Record<string, unknown>;
} {
  return { info: { required: options.required ?? false }, schema: PAYMENT_IDENTIFIER_JSON_SCHEMA };
}

/**
 * A fresh id: `pay_` and 32 hex digits from the operating system's random source (128 bits), so ids of different
 * payments never meet.
 * @example
 * ```ts
 * createPaymentId(); // 'pay_9f86d081884c7d659a2feaa0c55ad015'
 * ```
 */
export function createPaymentId(): string {
  // Web Crypto, not node:crypto: buyers run in browsers and edge runtimes too.
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return `pay_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Reads the extension from an `extensions` object (a 402's or a payment payload's).
 * @example
 * ```ts
 * const read = readPaymentIdentifier(payload.extensions);
 * if (read.status === 'present' && read.info.id) remember(read.info.id);
 * ```
 */
export function readPaymentIdentifier(
  extensions: Readonly<Record<string, unknown>> | undefined | null,
): ExtensionRead<PaymentIdentifierInfo> {
  return readExtensionInfo(
    extensions ?? undefined,
    PAYMENT_IDENTIFIER,
    PaymentIdentifierInfoSchema,
  );
}

/**
 * The buyer's side: when the 402 declares the extension, a copy of its `extensions` with the seller's entry echoed
 * and `id` set (a fresh one unless given); otherwise the `extensions` unchanged. Sign once, and send this same object
 * with every retry of that payment: the id is what makes the retry the same payment.
 * @example
 * ```ts
 * const extensions = withPaymentId(paymentRequired.extensions);
 * ```
 */
export function withPaymentId(
  extensions: Readonly<Record<string, unknown>> | undefined,
  id: string = createPaymentId(),
): Readonly<Record<string, unknown>> | undefined {
  const declared = extensions?.[PAYMENT_IDENTIFIER];
  if (declared === undefined) return extensions;
  PaymentIdSchema.parse(id);
  const entry = typeof declared === 'object' && declared !== null ? declared : {};
  const { info, schema } = entry as { info?: unknown; schema?: unknown };
  const seller = typeof info === 'object' && info !== null ? info : {};
  return withExtension(extensions, PAYMENT_IDENTIFIER, {
    ...entry,
    info: { required: false, ...seller, id },
    ...(typeof schema === 'object' && schema !== null
      ? { schema: schema as Record<string, unknown> }
      : {}),
  });
}

/**
 * What a payment payload says about its id, as the seller and the facilitator read it.
 * @example
 * ```ts
 * const of: PaymentIdOf = paymentIdOf(payload.extensions);
 * if (of.ok && of.id !== undefined) console.log('payment id', of.id);
 * ```
 */
export type PaymentIdOf =
  | { readonly ok: true; readonly id: string | undefined }
  | { readonly ok: false; readonly reason: 'invalid_payment_identifier'; readonly message: string };

/**
 * The id a payment payload carries, if any; a malformed entry is a refusal (`invalid_payment_identifier`), never
 * ignored, so a buyer that meant to be idempotent learns it is not.
 * @example
 * ```ts
 * const of = paymentIdOf(payload.extensions);
 * if (!of.ok) return refuse(of.reason, of.message);
 * ```
 */
export function paymentIdOf(
  extensions: Readonly<Record<string, unknown>> | undefined | null,
): PaymentIdOf {
  const read = readPaymentIdentifier(extensions);
  if (read.status === 'absent') return { ok: true, id: undefined };
  if (read.status === 'invalid') {
    return { ok: false, reason: 'invalid_payment_identifier', message: read.message };
  }
  return { ok: true, id: read.info.id };
}
