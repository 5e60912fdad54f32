/**
 * The x402 MCP transport's shapes (coinbase/x402 `specs/transports-v2/mcp.md`): the payment goes in the call's
 * `_meta["x402/payment"]`, the settlement comes back in the result's `_meta["x402/payment-response"]`, and a payment
 * that is required or refused is a tool result with `isError: true` carrying the `PaymentRequired` object, both as
 * `structuredContent` and, JSON-encoded in an `x402/error` wrapper, as `content[0].text`. This file turns the
 * resource server's HTTP-shaped replies into those results, and reads them back for the paying client.
 * @module
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { base64ToUtf8 } from '../protocol/base64.js';
import { PAYMENT_HEADERS } from '../protocol/headers.js';
import type { PaywallReply } from '../server/replies.js';

/**
 * The `_meta` keys and the error wrapper's key of the x402 MCP transport.
 * @example
 * ```ts
 * const payment = request.params._meta?.[MCP_META.payment];
 * const settlement = result._meta?.[MCP_META.paymentResponse];
 * ```
 */
export const MCP_META = {
  /** In a `tools/call` request's `_meta`: the `PaymentPayload`. */
  payment: 'x402/payment',
  /** In a result's `_meta` (or a settlement failure's `structuredContent`): the `SettlementResponse`. */
  paymentResponse: 'x402/payment-response',
  /** The wrapper of `content[0].text` on a payment error: `{ code, message, data }`. */
  error: 'x402/error',
  /** In a paid tool's listing `_meta`: its static `accepts[]` entries, so an agent sees the price before calling. */
  accepts: 'x402/accepts',
} as const;

/** The body of the resource server's non-402 replies, and the reason a challenge names. */
export type ErrorBody = { readonly error?: string; readonly message?: string };

/** A header of a reply decoded from base64 JSON, `undefined` when absent. */
function decodedHeader(reply: PaywallReply, name: string): Record<string, unknown> | undefined {
  const value = reply.headers[name];
  return value === undefined
    ? undefined
    : (JSON.parse(base64ToUtf8(value)) as Record<string, unknown>);
}

/**
 * The tool result for a resource server's reply (with `failure`, a 402 challenge that names why a payment was
 * refused instead of its own error): a 402 becomes the transport's payment-required result (with the
 * failed or pending settlement beside it, as the spec's "Settlement Failure" shows); a 400, 500 or 502 an error
 * result that names the same reason as over HTTP, its status kept in `x402/error.code`.
 */
export function toolResultOfReply(reply: PaywallReply, failure?: ErrorBody): CallToolResult {
  if (reply.status === 402) {
    const challenge = {
      ...decodedHeader(reply, PAYMENT_HEADERS.paymentRequired),
      ...(failure ? { error: failure.error, message: failure.message } : {}),
    };
    const settlement = decodedHeader(reply, PAYMENT_HEADERS.paymentResponse);
    const data = {
      ...challenge,
      ...(settlement ? { [MCP_META.paymentResponse]: settlement } : {}),
    };
    return errorResult(402, messageOf(challenge as ErrorBody), data);
  }
  const body = JSON.parse(reply.body) as ErrorBody;
  return errorResult(reply.status, messageOf(body), body as Record<string, unknown>);
}

function errorResult(code: number, message: string, data: Record<string, unknown>): CallToolResult {
  return {
    isError: true,
    structuredContent: data,
    content: [
      { type: 'text', text: JSON.stringify({ [MCP_META.error]: { code, message, data } }) },
    ],
  };
}

function messageOf(body: ErrorBody): string {
  if (body.error === undefined || body.error === 'payment_required') return 'Payment required';
  return body.message ? `${body.error}: ${body.message}` : body.error;
}

/**
 * A served result with its settlement in `_meta["x402/payment-response"]`.
 */
export function withSettlement(
  result: CallToolResult,
  headers: Readonly<Record<string, string>>,
): CallToolResult {
  const value = headers[PAYMENT_HEADERS.paymentResponse];
  // A sign-in would be served without a settlement; MCP tools never offer one, but nothing is invented either way.
  if (value === undefined) return result;
  const settlement = JSON.parse(base64ToUtf8(value)) as Record<string, unknown>;
  return { ...result, _meta: { ...result._meta, [MCP_META.paymentResponse]: settlement } };
}

/** What a tool result says about payment, read as the spec tells a client to. */
export type PaymentSignal = {
  /** The status it maps from: 402 for a challenge, or the `x402/error.code` of another payment error. */
  readonly status: number;
  /** The `PaymentRequired` object, when the result carries one (`x402Version` present). */
  readonly paymentRequired: Record<string, unknown> | undefined;
  /** The settlement, from `_meta` or beside the challenge. */
  readonly settlement: Record<string, unknown> | undefined;
  /** The error body of a non-402 payment error (`{ error, message }`). */
  readonly body: Record<string, unknown> | undefined;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isPaymentRequired = (value: unknown): value is Record<string, unknown> =>
  isRecord(value) && value.x402Version !== undefined && Array.isArray(value.accepts);

/**
 * Reads a tool result the way the transport spec orders it: `structuredContent` as the `PaymentRequired` itself,
 * then `structuredContent["x402/error"].data`, then `content[0].text` parsed as either. `undefined` for a result
 * that says nothing about payment (a tool's own error, or a free tool's answer).
 */
export function readPaymentSignal(result: CallToolResult): PaymentSignal | undefined {
  const metaSettlement = isRecord(result._meta?.[MCP_META.paymentResponse])
    ? (result._meta[MCP_META.paymentResponse] as Record<string, unknown>)
    : undefined;
  if (result.isError !== true) {
    return metaSettlement
      ? { status: 200, paymentRequired: undefined, settlement: metaSettlement, body: undefined }
      : undefined;
  }
  const structured = result.structuredContent;
  const wrapped = recordAt(structured, MCP_META.error);
  const text = firstText(result);
  const fromText = recordAt(text, MCP_META.error) ?? text;
  const code = numberOf(wrapped?.code) ?? numberOf(fromText?.code);
  const candidates = [structured, wrapped?.data, fromText?.data, fromText];
  const paymentRequired = candidates.find(isPaymentRequired);
  if (paymentRequired) {
    const beside = paymentRequired[MCP_META.paymentResponse];
    return {
      status: 402,
      paymentRequired,
      settlement: metaSettlement ?? (isRecord(beside) ? beside : undefined),
      body: undefined,
    };
  }
  if (code !== undefined) {
    const body = [wrapped?.data, fromText?.data].find(isRecord);
    return { status: code, paymentRequired: undefined, settlement: metaSettlement, body };
  }
  // A tool that failed after its payment settled (settled before the handler): served, with an error.
  return metaSettlement
    ? { status: 500, paymentRequired: undefined, settlement: metaSettlement, body: undefined }
    : undefined;
}

function recordAt(
  value: Record<string, unknown> | undefined,
  key: string,
): Record<string, unknown> | undefined {
  const found = value?.[key];
  return isRecord(found) ? found : undefined;
}

function firstText(result: CallToolResult): Record<string, unknown> | undefined {
  const first = result.content?.[0];
  if (first?.type !== 'text') return undefined;
  try {
    const parsed: unknown = JSON.parse(first.text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
