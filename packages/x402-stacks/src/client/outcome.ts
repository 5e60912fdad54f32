/**
 * Reading the server's answer to a paid request: served, pending, refused, or an error whose outcome is unknown.
 * The receipt (`payment-response`, or `x-payment-response` from a v1 server) is validated; a malformed one is treated
 * as absent, never trusted.
 * @module
 */
import {
  decodePaymentRequiredHeader,
  decodePaymentResponse,
  decodeXPaymentResponse,
  type HeaderValue,
  PAYMENT_HEADERS,
} from '../protocol/headers.js';
import type { SettleResponseV1 } from '../protocol/v1.js';
import type { SettleResponse } from '../protocol/v2.js';

/**
 * The parts of an HTTP response the payer reads, whatever the HTTP library.
 * @example
 * ```ts
 * const answer: PaidAnswer = { status: res.status, header: (name) => res.headers.get(name), body: await res.text() };
 * ```
 */
export type PaidAnswer = {
  readonly status: number;
  header(name: string): HeaderValue;
  /** The parsed JSON body, its text, or `undefined` when it was not read. Only read on a 402. */
  readonly body?: unknown;
};

/**
 * What the server's answer means for the payment.
 * @example
 * ```ts
 * if (outcome.kind === 'pending') console.log('not confirmed yet:', outcome.txid);
 * ```
 */
export type PaymentOutcome =
  | {
      readonly kind: 'served';
      readonly settlement: SettleResponse | SettleResponseV1 | undefined;
      /** The on-chain txid the receipt names. */
      readonly txid: string | undefined;
    }
  | { readonly kind: 'pending'; readonly txid: string }
  | {
      readonly kind: 'rejected';
      readonly reason: string;
      readonly message: string | undefined;
      readonly txid: string | undefined;
    }
  /** A status other than 2xx and 402 without a successful receipt: the payment may or may not have settled. */
  | { readonly kind: 'unknown' };

/**
 * Classifies the answer to a paid request.
 * 1. A successful receipt, or a 2xx status, means served. A redirect (3xx, or a browser's opaque redirect, 0) without
 *    a receipt proves nothing: unknown.
 * 2. A 402 whose receipt says `settlement_pending` is pending, with the receipt's txid.
 * 3. Any other 402 is a refusal, with the reason from the receipt, else the body's `error`, else a fresh challenge.
 * 4. Anything else is unknown.
 *
 * @example
 * ```ts
 * const outcome = readPaymentOutcome(2, { status: 402, header: (n) => res.headers.get(n), body });
 * if (outcome.kind === 'rejected') console.log(outcome.reason);
 * ```
 */
export function readPaymentOutcome(version: 1 | 2, answer: PaidAnswer): PaymentOutcome {
  const receipt = readReceipt(version, answer);
  if (receipt?.success === true || (answer.status >= 200 && answer.status < 300)) {
    return { kind: 'served', settlement: receipt?.settlement, txid: receipt?.txid };
  }
  if (answer.status !== 402) return { kind: 'unknown' };
  if (receipt?.reason === 'settlement_pending' && receipt.txid) {
    return { kind: 'pending', txid: receipt.txid };
  }
  const body = bodyError(answer.body);
  return {
    kind: 'rejected',
    reason: receipt?.reason ?? body.reason ?? challengeError(answer) ?? 'unknown_reason',
    message: receipt?.message ?? body.message,
    txid: receipt?.txid,
  };
}

type Receipt = {
  settlement: SettleResponse | SettleResponseV1;
  success: boolean | undefined;
  reason: string | undefined;
  message: string | undefined;
  txid: string | undefined;
};

function readReceipt(version: 1 | 2, answer: PaidAnswer): Receipt | undefined {
  try {
    if (version === 2) {
      const settlement = decodePaymentResponse(answer.header(PAYMENT_HEADERS.paymentResponse));
      if (!settlement) return undefined;
      return {
        settlement,
        success: settlement.success,
        reason: settlement.errorReason,
        message: settlement.errorMessage,
        txid: settlement.transaction || undefined,
      };
    }
    const settlement = decodeXPaymentResponse(answer.header(PAYMENT_HEADERS.xPaymentResponse));
    if (!settlement) return undefined;
    return {
      settlement,
      success: settlement.success,
      reason: settlement.errorReason ?? settlement.error,
      message: undefined,
      txid: settlement.txId || undefined,
    };
  } catch {
    // A malformed receipt proves nothing either way; the status decides.
    return undefined;
  }
}

function bodyError(body: unknown): { reason?: string; message?: string } {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  const reason = shortText(record.errorReason) ?? shortText(record.error);
  const message = shortText(record.message) ?? shortText(record.errorMessage);
  return { ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

function challengeError(answer: PaidAnswer): string | undefined {
  const header = answer.header(PAYMENT_HEADERS.paymentRequired);
  if (typeof header !== 'string' || header === '') return undefined;
  try {
    return shortText(decodePaymentRequiredHeader(header).error);
  } catch {
    return undefined;
  }
}

// A server's text goes into our error messages: keep it a short single line.
function shortText(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
