/**
 * Step 5 of validation: finding the x402 challenge in a response. The `payment-required` header (base64 JSON, v2)
 * wins; otherwise the body must be pure JSON. HTML gets its own hint, since it is the most common wrong answer.
 * @module
 */
import { type Finding, finding } from '../findings.js';
import type { ProbeResponse } from '../probe/fetcher.js';

/** The challenge as an untyped record, or the finding that says why there is none. */
export type ChallengeRead =
  | { readonly challenge: Record<string, unknown>; readonly source: 'header' | 'body' }
  | { readonly finding: Finding };

/**
 * Reads the challenge from a probe response.
 * @example
 * ```ts
 * const read = readChallenge(response);
 * if ('challenge' in read) read.challenge.accepts;
 * ```
 */
export function readChallenge(response: ProbeResponse): ChallengeRead {
  const header = response.headers['payment-required'];
  if (header !== undefined) {
    const decoded = parseJson(Buffer.from(header.trim(), 'base64').toString('utf8'));
    if (isRecord(decoded) && /^[A-Za-z0-9+/]*={0,2}$/.test(header.trim())) {
      return { challenge: decoded, source: 'header' };
    }
    const body = parseJson(response.body.toString('utf8'));
    if (isRecord(body)) return { challenge: body, source: 'body' };
    return {
      finding: finding('invalid_json', {
        detail: 'bad_header',
        path: 'payment-required',
        message: 'the payment-required header is not base64-encoded JSON',
        fix: 'Send base64(JSON.stringify(paymentRequired)) in the payment-required header.',
      }),
    };
  }
  const text = response.body.toString('utf8');
  const type = response.headers['content-type'] ?? '';
  if (type.includes('html') || /^\s*</.test(text)) {
    return {
      finding: finding('invalid_json', {
        detail: 'html',
        message: 'the endpoint answered with HTML, not an x402 JSON document',
        fix: 'Answer API clients (Accept: application/json) with the JSON challenge, not a paywall page.',
      }),
    };
  }
  const body = parseJson(text);
  if (!isRecord(body)) {
    return {
      finding: finding('invalid_json', {
        detail: text.trim() === '' ? 'empty_body' : 'not_json',
        message: text.trim() === '' ? 'the body is empty' : 'the body is not a JSON object',
        fix: 'Return the x402 schema as a JSON object, with nothing before or after it.',
      }),
    };
  }
  return { challenge: body, source: 'body' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether a value is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
