/**
 * The envelope every x402 extension shares. A seller declares an extension in the 402's `extensions` object under the
 * extension's name, as `{ info, schema }`: `info` holds the extension's data and `schema` the JSON Schema a client
 * may check its own `info` against. A client that takes part echoes the entry in its payment payload's `extensions`,
 * with `info` completed by its side. Each extension validates its own `info`; this file only finds and reads it.
 * @module
 */
import { z } from 'zod';

/**
 * One extension's entry: `info` is the extension's own data, `schema` its JSON Schema (passed through unread).
 * @example
 * ```ts
 * ExtensionEnvelopeSchema.parse({ info: { required: false }, schema: { type: 'object' } });
 * ```
 */
export const ExtensionEnvelopeSchema = z.looseObject({
  info: z.record(z.string(), z.unknown()),
  schema: z.record(z.string(), z.unknown()).optional(),
});

/**
 * One extension's entry, as {@link ExtensionEnvelopeSchema} reads it.
 * @example
 * ```ts
 * const envelope: ExtensionEnvelope = { info: { required: true }, schema: PAYMENT_IDENTIFIER_JSON_SCHEMA };
 * const extensions = withExtension(paymentRequired.extensions, PAYMENT_IDENTIFIER, envelope);
 * ```
 */
export type ExtensionEnvelope = z.infer<typeof ExtensionEnvelopeSchema>;

/**
 * What {@link readExtensionInfo} found: nothing, the parsed `info`, or why the entry could not be read.
 * @example
 * ```ts
 * const read: ExtensionRead<PaymentIdentifierInfo> = readPaymentIdentifier(payload.extensions);
 * if (read.status === 'invalid') console.warn(read.message);
 * ```
 */
export type ExtensionRead<Info> =
  | { readonly status: 'absent' }
  | { readonly status: 'present'; readonly info: Info }
  | { readonly status: 'invalid'; readonly message: string };

/**
 * Finds the extension `name` in an `extensions` object (of a 402, a payment payload or a settle answer) and parses its
 * `info` with the extension's own schema. A malformed entry is reported, never thrown, so the caller can answer with
 * its own reason.
 * @example
 * ```ts
 * const read = readExtensionInfo(payload.extensions, 'payment-identifier', PaymentIdentifierInfoSchema);
 * if (read.status === 'present') use(read.info.id);
 * ```
 */
export function readExtensionInfo<Info>(
  extensions: Readonly<Record<string, unknown>> | undefined,
  name: string,
  infoSchema: z.ZodType<Info>,
): ExtensionRead<Info> {
  const entry = extensions?.[name];
  if (entry === undefined) return { status: 'absent' };
  const envelope = ExtensionEnvelopeSchema.safeParse(entry);
  if (!envelope.success)
    return { status: 'invalid', message: `extensions.${name} is not { info, schema }` };
  const info = infoSchema.safeParse(envelope.data.info);
  if (!info.success) {
    const issue = info.error.issues[0];
    const where = issue?.path.length ? `.${issue.path.join('.')}` : '';
    return {
      status: 'invalid',
      message: `extensions.${name}.info${where}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { status: 'present', info: info.data };
}

/**
 * Returns a copy of `extensions` with `name` set to `envelope`, leaving the input untouched.
 * @example
 * ```ts
 * const extensions = withExtension(paymentRequired.extensions, 'bazaar', { info, schema });
 * ```
 */
export function withExtension(
  extensions: Readonly<Record<string, unknown>> | undefined,
  name: string,
  envelope: ExtensionEnvelope,
): Record<string, unknown> {
  return { ...extensions, [name]: envelope };
}
