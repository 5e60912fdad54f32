/**
 * The answers the middleware sends itself (402, 400, 502, 500) and the headers it adds to a paid response. Built as
 * plain strings: the values come from checked options or from the facilitator's checked answers, so no schema runs
 * per request, and a static route's challenge is encoded once.
 * @module
 */
import {
  declarePaymentIdentifier,
  PAYMENT_IDENTIFIER,
} from '../extensions/payment-identifier/index.js';
import { utf8ToBase64 } from '../protocol/base64.js';
import { PAYMENT_HEADERS } from '../protocol/headers.js';
import type { PaymentRequirements, SettleResponse } from '../protocol/v2.js';
import type { ResolvedOptions } from './options.js';

/**
 * A response for the adapter to send as is: a status, headers (lower-case names) and a JSON body as text.
 * @example
 * ```ts
 * res.status(reply.status).set(reply.headers).send(reply.body);
 * ```
 */
export type PaywallReply = {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
};

/**
 * The headers browsers may read from a script on another origin, as `Access-Control-Expose-Headers` lists them.
 * @example
 * ```ts
 * EXPOSED_HEADERS; // 'payment-required, payment-response, x-payment-response'
 * ```
 */
export const EXPOSED_HEADERS = [
  PAYMENT_HEADERS.paymentRequired,
  PAYMENT_HEADERS.paymentResponse,
  PAYMENT_HEADERS.xPaymentResponse,
].join(', ');

/**
 * The exposed-headers value with ours added to what an earlier middleware (CORS) already exposes.
 * @example
 * ```ts
 * withExposedHeaders('x-request-id'); // 'x-request-id, payment-required, payment-response, x-payment-response'
 * ```
 */
export function withExposedHeaders(existing: unknown): string {
  const text = Array.isArray(existing)
    ? existing.join(', ')
    : typeof existing === 'string'
      ? existing
      : '';
  if (text.trim() === '') return EXPOSED_HEADERS;
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const known = new Set(names.map((name) => name.toLowerCase()));
  if (known.has('*')) return text;
  for (const name of EXPOSED_HEADERS.split(', ')) if (!known.has(name)) names.push(name);
  return names.join(', ');
}

/**
 * The value to set for one of the middleware's headers, given what the response already holds (`undefined`: leave
 * it). Exposed headers are merged; on a paid response (`ownCacheControl`) a `cache-control` the handler chose is
 * kept, while the middleware's own answers always say `no-store`.
 */
export function paymentHeaderValue(
  name: string,
  value: string,
  current: unknown,
  ownCacheControl: boolean,
): string | undefined {
  if (name === 'access-control-expose-headers') return withExposedHeaders(current);
  if (name === 'cache-control' && ownCacheControl && current !== undefined && current !== null) {
    return undefined;
  }
  return value;
}

const JSON_TYPE = 'application/json; charset=utf-8';
// Bazaar's limit for resource.serviceName.
const SERVICE_NAME = /^[\x20-\x7e]{1,32}$/;

/** What a challenge says beyond `accepts[]`. */
export type ChallengeFailure = { readonly error: string; readonly message?: string };

/**
 * The 402: the `payment-required` header and the same JSON as the body, never cached. `failure` names why a payment
 * was refused; `receipt` (a failed or pending settlement) goes in `payment-response` so the buyer sees the txid.
 * `extensions` are the declared extensions' entries (bazaar's declaration, the signed offers of `offer-receipt`, a
 * `sign-in-with-x` challenge); the route's `payment-identifier` declaration joins them, so one 402 carries every
 * declared extension.
 */
export function challengeReply(
  options: ResolvedOptions<unknown>,
  resourceUrl: string,
  accepts: readonly PaymentRequirements[],
  failure: ChallengeFailure = { error: 'payment_required' },
  receipt?: SettleResponse,
  extensions?: Readonly<Record<string, unknown>>,
): PaywallReply {
  const { name, description, mimeType, outputSchema, paymentIdentifier } = options;
  const challenge = {
    x402Version: 2,
    error: failure.error,
    ...(failure.message ? { message: failure.message } : {}),
    resource: {
      url: resourceUrl,
      ...(description !== undefined ? { description } : {}),
      ...(mimeType !== undefined ? { mimeType } : {}),
      ...(name !== undefined && SERVICE_NAME.test(name) ? { serviceName: name } : {}),
    },
    accepts,
    ...(name !== undefined ? { name } : {}),
    ...(outputSchema !== undefined ? { outputSchema } : {}),
    ...(paymentIdentifier || extensions !== undefined
      ? {
          extensions: {
            ...extensions,
            ...(paymentIdentifier
              ? { [PAYMENT_IDENTIFIER]: declarePaymentIdentifier(paymentIdentifier) }
              : {}),
          },
        }
      : {}),
  };
  const body = JSON.stringify(challenge);
  const headers: Record<string, string> = {
    'content-type': JSON_TYPE,
    'cache-control': 'no-store',
    'access-control-expose-headers': EXPOSED_HEADERS,
    [PAYMENT_HEADERS.paymentRequired]: utf8ToBase64(body),
  };
  if (receipt) headers[PAYMENT_HEADERS.paymentResponse] = encodeJson(receipt);
  return { status: 402, headers, body };
}

/** Stands where a {@link challengeTemplate}'s per-request value goes, until the template is split around it. */
export const CHALLENGE_HOLE = '\u0000x402-challenge-hole';

/**
 * A 402 whose only per-request part is one JSON value (a sign-in challenge, fresh on every 402): everything around it
 * is encoded once. Base64 encodes each 3 bytes on their own, so the text is split where the value goes and each
 * part padded with JSON whitespace to a multiple of 3 bytes; the header is then the cached encodings of the parts
 * around the value joined with the encoding of the value alone.
 * @param extensions the 402's extensions, with {@link CHALLENGE_HOLE} where the value goes.
 * @returns the reply for a value given as its JSON text, or undefined when the hole is not found once in the text.
 */
export function challengeTemplate(
  options: ResolvedOptions<unknown>,
  resourceUrl: string,
  accepts: readonly PaymentRequirements[],
  extensions: Readonly<Record<string, unknown>>,
): ((valueJson: string) => PaywallReply) | undefined {
  const whole = challengeReply(options, resourceUrl, accepts, undefined, undefined, extensions);
  const hole = JSON.stringify(CHALLENGE_HOLE);
  const at = whole.body.indexOf(hole);
  if (at < 0 || whole.body.indexOf(hole, at + 1) >= 0) return undefined;
  const before = padToBase64Block(whole.body.slice(0, at));
  const after = whole.body.slice(at + hole.length);
  const encodedBefore = utf8ToBase64(before);
  const encodedAfter = utf8ToBase64(after);
  return (valueJson) => {
    const middle = padToBase64Block(valueJson);
    return {
      status: 402,
      // challengeReply's headers without a receipt, written as a literal: spreading a template's headers into a new
      // object on every 402 cost as much as the encoding.
      headers: {
        'content-type': JSON_TYPE,
        'cache-control': 'no-store',
        'access-control-expose-headers': EXPOSED_HEADERS,
        [PAYMENT_HEADERS.paymentRequired]: `${encodedBefore}${utf8ToBase64(middle)}${encodedAfter}`,
      },
      body: `${before}${middle}${after}`,
    };
  };
}

/**
 * `text` with spaces added so its UTF-8 length is a multiple of 3, the bytes one base64 block encodes. The texts are
 * JSON.stringify's, which never holds a lone surrogate, so counting pairs as 4 bytes is exact.
 */
function padToBase64Block(text: string): string {
  const length = utf8Length(text);
  return text + ' '.repeat((3 - (length % 3)) % 3);
}

function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      length += 4; // a surrogate pair: one 4-byte character
      i++;
    } else length += 3;
  }
  return length;
}

/** A JSON error that is not a challenge: 400 for a malformed header, 502 for the facilitator, 500 for a bad price. */
export function errorReply(status: number, error: string, message: string): PaywallReply {
  return {
    status,
    headers: {
      'content-type': JSON_TYPE,
      'cache-control': 'no-store',
      'access-control-expose-headers': EXPOSED_HEADERS,
    },
    body: JSON.stringify({ error, message }),
  };
}

/** Base64 of a JSON value, as the payment headers carry it. */
export function encodeJson(value: unknown): string {
  return utf8ToBase64(JSON.stringify(value));
}

/**
 * A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. It asks whether the real request may
 * be sent and is never the paid request itself; any other `OPTIONS` is priced like every method.
 */
export function isPreflight(
  method: string,
  origin: string | undefined,
  requestMethod: string | undefined,
): boolean {
  return method === 'OPTIONS' && origin !== undefined && requestMethod !== undefined;
}
