/**
 * Strips the payment headers from what the wrappers hand back after a paid request: an axios error or response
 * keeps the request config (and the Node `ClientRequest`), whose headers hold the signed transaction. A signed
 * payment that was refused or got no answer may still be broadcast by whoever holds it, so it must not end up in
 * logs through `JSON.stringify(error)` or `error.config`.
 * @module
 */
import { PAYMENT_REQUEST_HEADERS } from './payer.js';

const REDACTED = '[redacted]';
const HEADER_LINE = new RegExp(`^(${PAYMENT_REQUEST_HEADERS.join('|')}):[^\\r\\n]*`, 'gim');

/**
 * Removes `payment-signature` and `X-PAYMENT` (any case) from the `config.headers` and `request` of `value`, of its
 * `response`, and along its `cause` chain. Returns `value`.
 * @example
 * ```ts
 * throw redactPaymentHeaders(axiosError);
 * ```
 */
export function redactPaymentHeaders<T>(value: T): T {
  const seen = new Set<unknown>();
  const visit = (node: unknown, depth: number) => {
    if (depth > 8 || typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    const { config, request, response, cause } = node as Record<string, unknown>;
    redactConfig(config);
    redactRequest(request);
    visit(response, depth + 1);
    visit(cause, depth + 1);
  };
  visit(value, 0);
  return value;
}

function redactConfig(config: unknown): void {
  if (typeof config !== 'object' || config === null) return;
  const headers = (config as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null) return;
  const axiosHeaders = headers as { delete?: (name: string) => unknown };
  for (const name of Object.keys(headers)) {
    if (!isPaymentHeader(name)) continue;
    if (typeof axiosHeaders.delete === 'function') axiosHeaders.delete(name);
    delete (headers as Record<string, unknown>)[name];
  }
}

/** A Node `ClientRequest` keeps the headers it wrote, as text and as a map; a browser's XHR exposes none. */
function redactRequest(request: unknown): void {
  if (typeof request !== 'object' || request === null) return;
  const raw = request as Record<string | symbol, unknown>;
  if (typeof raw._header === 'string') {
    try {
      raw._header = raw._header.replace(HEADER_LINE, `$1: ${REDACTED}`);
    } catch {
      // Not writable: nothing more can be done.
    }
  }
  for (const symbol of Object.getOwnPropertySymbols(request)) {
    if (symbol.description !== 'kOutHeaders') continue;
    const map = raw[symbol];
    if (typeof map !== 'object' || map === null) continue;
    for (const name of Object.keys(map)) {
      if (isPaymentHeader(name)) delete (map as Record<string, unknown>)[name];
    }
  }
}

function isPaymentHeader(name: string): boolean {
  return (PAYMENT_REQUEST_HEADERS as readonly string[]).includes(name.toLowerCase());
}
