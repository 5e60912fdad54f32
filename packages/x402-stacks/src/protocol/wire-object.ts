/**
 * Zod building blocks shared by the v1 and v2 wire schemas. Internal: not re-exported from the
 * package.
 * @module
 */
import { z } from 'zod';

/**
 * An optional field that also accepts `null`, which the reference SDK emits for absent optional
 * fields. `null` becomes `undefined`, and {@link wireObject} then drops the key, so parsed values
 * only ever have `?: T`.
 *
 * @example
 * ```ts
 * const Schema = wireObject({ payer: optionalOrNull(z.string()) });
 * Schema.parse({ payer: null }); // {}
 * ```
 */
export function optionalOrNull<T extends z.ZodType>(schema: T) {
  return schema
    .nullable()
    .transform((value) => value ?? undefined)
    .optional();
}

/**
 * A wire object: unknown keys pass through, so a peer on a newer protocol revision is not refused
 * for adding a field, and keys whose value parsed to `undefined` (a `null` on the wire) are removed
 * rather than kept as `key: undefined`.
 *
 * @example
 * ```ts
 * const Schema = wireObject({ url: z.string(), description: optionalOrNull(z.string()) });
 * Schema.parse({ url: '/a', description: null, future: 1 }); // { url: '/a', future: 1 }
 * ```
 */
export function wireObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.looseObject(shape).overwrite(dropUndefinedKeys);
}

function dropUndefinedKeys<T extends object>(value: T): T {
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (record[key] === undefined) delete record[key];
  }
  return value;
}

/**
 * A JSON object of anything (`extra`, `payload`, `extensions`). Its contents belong to the scheme
 * or the extension, which validates them itself.
 *
 * @example
 * ```ts
 * JsonRecordSchema.parse({ transaction: '0x80…' });
 * ```
 */
export const JsonRecordSchema = z
  .custom<Record<string, unknown>>((value) => z.core.util.isPlainObject(value), {
    message: 'expected an object',
  })
  .transform(copyRecord);

/**
 * What `z.record(z.string(), z.unknown())` gives, made in one pass: these records sit on every payment's path (the
 * payload, `accepted.extra`, the requirements' `extra`) and their contents are validated by the scheme or extension
 * that reads them, so checking each key against a schema bought nothing. The record itself is still copied, as
 * `z.record` copied it: the parsed value is frozen and trusted afterwards, so the record must not be the caller's
 * (which the caller may change, or which may read differently through a getter). Like `z.record`, the copy is one
 * level deep: values nested inside stay the caller's, and JSON from the wire has no getters. Each key is read once,
 * and `__proto__` (an own key after `JSON.parse`) is left out, as the record schema leaves it out.
 */
function copyRecord(value: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key !== '__proto__') copy[key] = value[key];
  }
  return copy;
}

/**
 * A string with at least one character, for identifiers where `''` can only be a mistake.
 *
 * @example
 * ```ts
 * NonEmptyStringSchema.parse('exact');
 * ```
 */
export const NonEmptyStringSchema = z.string().min(1);
