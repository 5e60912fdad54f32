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
import { type JsonSlot, jsonSlots } from './json-slots.js';
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

/**
 * A 402 whose only per-request parts are a few values of fixed width (a sign-in challenge's times and nonce, fresh on
 * every 402): the challenge is serialized once, as UTF-8 bytes with {@link JsonSlot}s where the values go; each 402
 * writes its values there and reads the body and the header's base64 off the same bytes.
 * @param extensions the 402's extensions, with each slot's marker where its value goes.
 * @returns the reply for the values (in the order of `slots`), undefined for values that do not fit their slots; the
 * template itself is undefined when a marker is not found once in the text.
 * @example
 * ```ts
 * const nonce = jsonSlot('nonce', 32);
 * const fill = challengeTemplate(options, url, accepts, { demo: { info: { nonce: nonce.marker } } }, [nonce]);
 * // The same reply as challengeReply(…, { demo: { info: { nonce: freshNonce } } }), written into the template:
 * fill?.([freshNonce]);
 * ```
 */
export function challengeTemplate(
  options: ResolvedOptions<unknown>,
  resourceUrl: string,
  accepts: readonly PaymentRequirements[],
  extensions: Readonly<Record<string, unknown>>,
  slots: readonly JsonSlot[],
): ((values: readonly string[]) => PaywallReply | undefined) | undefined {
  const whole = challengeReply(options, resourceUrl, accepts, undefined, undefined, extensions);
  const challenge = jsonSlots(whole.body, slots);
  if (!challenge) return undefined;
  return (values) => {
    if (!challenge.fill(values)) return undefined;
    return {
      status: 402,
      // challengeReply's headers without a receipt, written as a literal: spreading a template's headers into a new
      // object on every 402 cost as much as the encoding.
      headers: {
        'content-type': JSON_TYPE,
        'cache-control': 'no-store',
        'access-control-expose-headers': EXPOSED_HEADERS,
        [PAYMENT_HEADERS.paymentRequired]: challenge.base64(),
      },
      body: challenge.text(),
    };
  };
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
