/**
 * The answers the engine gives, built in one place: a verify refusal, a settle failure or success, and the answer to
 * a payment already claimed.
 * @module
 */
import type { ReasonCode } from '../protocol/reasons.js';
import type { SettleResponse, VerifyResponse } from '../protocol/v2.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { SettlementRecord } from './ledger.js';

/** A step's refusal: the reason code, a message, and the payer when it was learned. */
export type Refusal = {
  readonly ok: false;
  readonly reason: ReasonCode;
  readonly message: string;
  readonly payer?: string;
};

export function refuse(reason: ReasonCode, message: string, payer?: string): Refusal {
  return { ok: false, reason, message, ...(payer ? { payer } : {}) };
}

export function invalid(refusal: Refusal): VerifyResponse {
  return {
    isValid: false,
    invalidReason: refusal.reason,
    invalidMessage: refusal.message,
    ...(refusal.payer ? { payer: refusal.payer } : {}),
  };
}

export function failure(
  payer: string,
  network: StacksNetwork | string,
  errorReason: ReasonCode,
  errorMessage: string,
  transaction = '',
): SettleResponse {
  return {
    success: false,
    errorReason,
    errorMessage,
    payer,
    transaction,
    network: (typeof network === 'string' ? network : network.caip2) as SettleResponse['network'],
  };
}

export function success(txid: string, payer: string, network: StacksNetwork): SettleResponse {
  return { success: true, payer, transaction: txid, network: network.caip2 };
}

export function duplicate(existing: SettlementRecord): SettleResponse {
  return {
    success: false,
    errorReason: 'duplicate_settlement',
    errorMessage: `this payment was already settled (${existing.state})`,
    payer: existing.payer,
    transaction: existing.txid,
    network: existing.network,
  };
}

/** The answer, again, for a payment that failed for good: the buyer learns that no money moved and may pay anew. */
export function failedBefore(existing: SettlementRecord): SettleResponse {
  return failure(
    existing.payer,
    existing.network,
    (existing.errorReason ?? 'transaction_failed') as ReasonCode,
    existing.errorMessage ?? 'the payment failed',
    existing.txid,
  );
}

export function pending(txid: string, payer: string, network: StacksNetwork): SettleResponse {
  return {
    success: false,
    errorReason: 'settlement_pending',
    errorMessage: 'broadcast, not confirmed yet; ask GET /settlements/:txid for the outcome',
    payer,
    transaction: txid,
    network: network.caip2,
  };
}
