/**
 * Codecs for the x402 payment headers: standard base64 of UTF-8 JSON, validated against the
 * protocol schemas in both directions, so we never emit a header we would refuse to read.
 * @module
 */
import type { z } from 'zod';
import { base64ToUtf8, isStandardBase64, utf8ToBase64 } from './base64.js';
import { InvalidHeaderError } from './errors.js';
import { PAYMENT_HEADERS, type PaymentHeaderName } from './header-names.js';
import {
  type PaymentPayloadV1,
  PaymentPayloadV1Schema,
  type SettleResponseV1,
  SettleResponseV1Schema,
} from './v1.js';
import {
  type PaymentPayload,
  PaymentPayloadSchema,
  type PaymentRequired,
  PaymentRequiredSchema,
  type SettleResponse,
  SettleResponseSchema,
} from './v2.js';

// The names live in header-names.ts, which the errors import without the codecs; they stay importable from here.
export { PAYMENT_HEADERS, type PaymentHeaderName } from './header-names.js';

/**
 * The longest encoded payment header accepted or produced, in characters: 16 KiB. Node's default
 * limit for all request headers together is 16 KiB (`--max-http-header-size`), so a larger header
 * could never arrive; refusing it before decoding also bounds the work an attacker can make a
 * decoder do.
 *
 * @example
 * ```ts
 * if (header.length > MAX_PAYMENT_HEADER_LENGTH) return reply(431);
 * ```
 */
export const MAX_PAYMENT_HEADER_LENGTH = 16 * 1024;

/**
 * What header getters return: fetch's `headers.get()` gives `string | null`, Node and axios may
 * give an array, a number or a boolean, or `undefined` when the header is absent.
 *
 * @example
 * ```ts
 * const value: HeaderValue = response.headers['payment-response'];
 * ```
 */
export type HeaderValue = string | readonly string[] | number | boolean | null | undefined;

// Beyond this many schema issues the message gets long without helping anyone fix the header.
const MAX_LISTED_ISSUES = 8;

type HeaderCodec<Schema extends z.ZodType> = {
  encode(value: z.input<Schema>): string;
  decode(header: string): z.output<Schema>;
};

// Its errors carry no `cause`: the metaMessages already list the zod issues, and a JSON.parse
// error quotes the decoded text, which logs must not hold.
function createHeaderCodec<Schema extends z.ZodType>(
  header: PaymentHeaderName,
  schema: Schema,
): HeaderCodec<Schema> {
  return {
    encode(value) {
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        throw new InvalidHeaderError(header, 'invalid_header_schema', {
          metaMessages: ['Refused while encoding.', ...describeIssues(parsed.error.issues)],
        });
      }
      const encoded = utf8ToBase64(JSON.stringify(parsed.data, bigintToString));
      if (encoded.length > MAX_PAYMENT_HEADER_LENGTH) {
        throw new InvalidHeaderError(header, 'header_too_large', {
          metaMessages: ['Refused while encoding.', describeLength(encoded)],
        });
      }
      return encoded;
    },

    decode(encoded) {
      if (typeof encoded !== 'string') {
        throw new InvalidHeaderError(header, 'invalid_header_encoding', {
          metaMessages: [`Expected a string, got ${encoded === null ? 'null' : typeof encoded}.`],
        });
      }
      // Length first: everything after it costs time proportional to the header.
      if (encoded.length > MAX_PAYMENT_HEADER_LENGTH) {
        throw new InvalidHeaderError(header, 'header_too_large', {
          metaMessages: [describeLength(encoded)],
        });
      }
      if (!isStandardBase64(encoded)) {
        throw new InvalidHeaderError(header, 'invalid_header_encoding', {
          metaMessages: [
            'Expected standard base64 (A-Z a-z 0-9 + /, padded with = to a multiple of 4).',
          ],
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(base64ToUtf8(encoded));
      } catch (error) {
        const notUtf8 = error instanceof TypeError;
        throw new InvalidHeaderError(header, 'invalid_header_json', {
          metaMessages: [
            notUtf8 ? 'The bytes are not valid UTF-8.' : 'The text is not valid JSON.',
          ],
        });
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new InvalidHeaderError(header, 'invalid_header_schema', {
          metaMessages: describeIssues(parsed.error.issues),
        });
      }
      return parsed.data;
    },
  };
}

function describeLength(encoded: string): string {
  return `${encoded.length} characters; the limit is ${MAX_PAYMENT_HEADER_LENGTH}.`;
}

function bigintToString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  const unlisted = issues.length - MAX_LISTED_ISSUES;
  if (unlisted > 0) lines.push(`…and ${unlisted} more.`);
  return lines;
}

// Node and axios give a repeated header as an array; read its first value, as the docs promise.
function firstHeaderValue(value: HeaderValue): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return null;
  const text = String(first);
  return text === '' ? null : text;
}

const paymentRequiredCodec = createHeaderCodec(
  PAYMENT_HEADERS.paymentRequired,
  PaymentRequiredSchema,
);
const paymentSignatureCodec = createHeaderCodec(
  PAYMENT_HEADERS.paymentSignature,
  PaymentPayloadSchema,
);
const paymentResponseCodec = createHeaderCodec(
  PAYMENT_HEADERS.paymentResponse,
  SettleResponseSchema,
);
const xPaymentCodec = createHeaderCodec(PAYMENT_HEADERS.xPayment, PaymentPayloadV1Schema);
const xPaymentResponseCodec = createHeaderCodec(
  PAYMENT_HEADERS.xPaymentResponse,
  SettleResponseV1Schema,
);

/**
 * Encodes a v2 402 challenge for the `payment-required` header. Throws {@link InvalidHeaderError}
 * when the value fails the schema or encodes to more than {@link MAX_PAYMENT_HEADER_LENGTH}
 * characters.
 *
 * @example
 * ```ts
 * res.status(402).setHeader('payment-required', encodePaymentRequiredHeader(challenge));
 * ```
 */
export function encodePaymentRequiredHeader(value: z.input<typeof PaymentRequiredSchema>): string {
  return paymentRequiredCodec.encode(value);
}

/**
 * Decodes a `payment-required` header into a v2 challenge. Throws {@link InvalidHeaderError}.
 *
 * @example
 * ```ts
 * const challenge = decodePaymentRequiredHeader(response.headers.get('payment-required') ?? '');
 * ```
 */
export function decodePaymentRequiredHeader(header: string): PaymentRequired {
  return paymentRequiredCodec.decode(header);
}

/**
 * Encodes a v2 payment for the `payment-signature` header. Throws {@link InvalidHeaderError}.
 *
 * @example
 * ```ts
 * fetch(url, { headers: { 'payment-signature': encodePaymentSignatureHeader(payment) } });
 * ```
 */
export function encodePaymentSignatureHeader(value: z.input<typeof PaymentPayloadSchema>): string {
  return paymentSignatureCodec.encode(value);
}

/**
 * Decodes a `payment-signature` header into a v2 payment. Throws {@link InvalidHeaderError}.
 *
 * @example
 * ```ts
 * const payment = decodePaymentSignatureHeader(req.get('payment-signature') ?? '');
 * ```
 */
export function decodePaymentSignatureHeader(header: string): PaymentPayload {
  return paymentSignatureCodec.decode(header);
}

/**
 * Encodes a v2 settle response for the `payment-response` header. Throws {@link
 * InvalidHeaderError}.
 *
 * @example
 * ```ts
 * res.setHeader('payment-response', encodePaymentResponseHeader(settlement));
 * ```
 */
export function encodePaymentResponseHeader(value: z.input<typeof SettleResponseSchema>): string {
  return paymentResponseCodec.encode(value);
}

/**
 * Decodes a `payment-response` header into a v2 settle response. Throws {@link InvalidHeaderError}.
 * For a header that may be absent, use {@link decodePaymentResponse}.
 *
 * @example
 * ```ts
 * const { transaction } = decodePaymentResponseHeader(header);
 * ```
 */
export function decodePaymentResponseHeader(header: string): SettleResponse {
  return paymentResponseCodec.decode(header);
}

/**
 * Encodes a v1 payment for the `x-payment` header. Throws {@link InvalidHeaderError}.
 *
 * @example
 * ```ts
 * fetch(url, { headers: { 'x-payment': encodeXPaymentHeader(paymentV1) } });
 * ```
 */
export function encodeXPaymentHeader(value: z.input<typeof PaymentPayloadV1Schema>): string {
  return xPaymentCodec.encode(value);
}

/**
 * Decodes an `x-payment` header into a v1 payment. Throws {@link InvalidHeaderError}.
 *
 * @example
 * ```ts
 * const paymentV1 = decodeXPaymentHeader(req.get('x-payment') ?? '');
 * ```
 */
export function decodeXPaymentHeader(header: string): PaymentPayloadV1 {
  return xPaymentCodec.decode(header);
}

/**
 * Encodes a v1 settle response for the `x-payment-response` header; a numeric `amount` is sent as a
 * string. Throws {@link InvalidHeaderError}.
 *
 * @example
 * ```ts
 * const header = encodeXPaymentResponseHeader({ txId, amount: 1000, sender });
 * res.setHeader('x-payment-response', header);
 * ```
 */
export function encodeXPaymentResponseHeader(
  value: z.input<typeof SettleResponseV1Schema>,
): string {
  return xPaymentResponseCodec.encode(value);
}

/**
 * Decodes an `x-payment-response` header into a v1 settle response. Throws {@link
 * InvalidHeaderError}. For a header that may be absent, use {@link decodeXPaymentResponse}.
 *
 * @example
 * ```ts
 * const { txId, amount } = decodeXPaymentResponseHeader(header); // amount: '1000'
 * ```
 */
export function decodeXPaymentResponseHeader(header: string): SettleResponseV1 {
  return xPaymentResponseCodec.decode(header);
}

/**
 * Reads the v2 receipt from a response's `payment-response` header, as header getters return it.
 * Returns `null` when the header is absent or empty, uses the first value of an array, and throws
 * {@link InvalidHeaderError} when the header is present but malformed.
 *
 * @example
 * ```ts
 * const receipt = decodePaymentResponse(response.headers['payment-response']);
 * if (receipt) console.log(receipt.transaction);
 * ```
 */
export function decodePaymentResponse(header: HeaderValue): SettleResponse | null {
  const value = firstHeaderValue(header);
  return value === null ? null : paymentResponseCodec.decode(value);
}

/**
 * Reads the v1 receipt `{ txId, amount, sender, … }` from an `x-payment-response` header. Same
 * rules as {@link decodePaymentResponse}: `null` when absent or empty, first value of an array,
 * throws when malformed.
 *
 * @example
 * ```ts
 * const receipt = decodeXPaymentResponse(response.headers['x-payment-response']);
 * if (receipt) console.log(receipt.txId, receipt.amount);
 * ```
 */
export function decodeXPaymentResponse(header: HeaderValue): SettleResponseV1 | null {
  const value = firstHeaderValue(header);
  return value === null ? null : xPaymentResponseCodec.decode(value);
}
