/**
 * Payments parsed once. A `/verify` or `/settle` body is checked against the x402 v2 schema where it enters (the
 * HTTP route, or the engine's `verify` and `settle` called directly), and every later step that reads the payload or
 * the requirements takes the parsed value instead of running the schema again: a settle read them five times.
 *
 * Only values this module produced pass unparsed: each is registered here and frozen (deeply), so nothing can change
 * it after the schema accepted it. Anything else, whatever its type claims, is parsed.
 * @module
 */
import type { z } from 'zod';
import {
  type PaymentPayload,
  PaymentPayloadSchema,
  type PaymentRequirements,
  PaymentRequirementsSchema,
  type VerifyRequest,
  VerifyRequestSchema,
} from '../protocol/v2.js';

/** Values the schemas accepted here, frozen since. */
const accepted = new WeakSet<object>();

type Parsed<T> = { readonly success: true; readonly data: T } | { readonly success: false };

function parseWith<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  if (typeof input === 'object' && input !== null && accepted.has(input))
    return { success: true, data: input as z.output<S> };
  const parsed = schema.safeParse(input);
  if (!parsed.success) return { success: false };
  return { success: true, data: register(parsed.data) };
}

/** Freezes a parsed value all the way down and registers it. */
function register<T>(value: T): T {
  deepFreeze(value);
  accepted.add(value as object);
  return value;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}

/**
 * A payment payload against the x402 v2 schema, parsed at most once: a value that came out of this function before
 * is handed back as it is.
 * @example
 * ```ts
 * const payload = parsePaymentPayload(input);
 * if (!payload.success) return refuse('invalid_payload', '…');
 * ```
 */
export function parsePaymentPayload(input: unknown): Parsed<PaymentPayload> {
  return parseWith(PaymentPayloadSchema, input);
}

/**
 * Payment requirements against the x402 v2 schema, parsed at most once (see {@link parsePaymentPayload}).
 * @example
 * ```ts
 * const requirements = parsePaymentRequirements(input);
 * ```
 */
export function parsePaymentRequirements(input: unknown): Parsed<PaymentRequirements> {
  return parseWith(PaymentRequirementsSchema, input);
}

/**
 * A `/verify` or `/settle` body against `VerifyRequestSchema`, as an HTTP route reads it: its payload and
 * requirements are then taken as they are by the engine's `verify` and `settle`, with no second parse.
 * @example
 * ```ts
 * const body = parseVerifyRequest(JSON.parse(text));
 * if (body.success) await facilitator.verify(body.data.paymentPayload, body.data.paymentRequirements);
 * ```
 */
export function parseVerifyRequest(input: unknown): z.ZodSafeParseResult<VerifyRequest> {
  const parsed = VerifyRequestSchema.safeParse(input);
  if (parsed.success) {
    // The same schemas as PaymentPayloadSchema and PaymentRequirementsSchema accepted these two values.
    register(parsed.data.paymentPayload);
    register(parsed.data.paymentRequirements);
  }
  return parsed;
}

/**
 * The input as the engine's steps take it: the parsed value when it parses, else the input itself, for the step
 * that answers with the reason.
 * @example
 * ```ts
 * payloadInput = parsedOrInput(payloadInput, parsePaymentPayload);
 * ```
 */
export function parsedOrInput(input: unknown, parse: (input: unknown) => Parsed<unknown>): unknown {
  const parsed = parse(input);
  return parsed.success ? parsed.data : input;
}
