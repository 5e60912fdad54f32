/**
 * The claim function's input for a test settlement (`payer-claims.ts`), for tests that hold a claim mid-transaction as
 * another process would.
 */
import type { NewSettlement } from 'x402-stacks/facilitator';
import type { ClaimWrite } from '../src/ledger/payer-claims.js';

/**
 * The claim function's input for a settlement, inserted as `mode` says.
 * @example
 * ```ts
 * await connection.executeQuery(claimQuery([writeOf(settlement(1), 'send')], { wait: true }));
 * ```
 */
export function writeOf(one: NewSettlement, mode: ClaimWrite['mode']): ClaimWrite {
  return {
    paymentTxid: one.paymentTxid,
    txid: one.txid,
    network: one.network,
    payer: one.payer,
    nonce: one.nonce.toString(),
    sponsor: null,
    sponsorNonce: null,
    amount: one.amount.toString(),
    asset: one.asset,
    payTo: one.payTo,
    transaction: one.transaction,
    errorReason: null,
    errorMessage: null,
    blockHeight: null,
    holder: null,
    resource: null,
    now: String(Date.now()),
    mode,
  };
}
