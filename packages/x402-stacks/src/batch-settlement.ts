/**
 * `x402-stacks/batch`: the batch-settlement scheme on Stacks, for all three roles. A buyer deposits into a batch-escrow
 * channel once, then pays each request with a cumulative SIP-018 voucher; the seller charges each request off chain;
 * the facilitator keeps the charged totals and claims many channels in one transaction. The wire format is specified
 * in `docs/batch-settlement-stacks.md`.
 * @module
 */
export * from './batch/index.js';
export { adoptCorrective, type CorrectiveRefusal } from './client/batch/answer.js';
export {
  type BatchAttempt,
  type BatchBuyer,
  type BatchBuyerOptions,
  type BatchRefusal,
  createBatchBuyer,
  type DepositNonceLease,
} from './client/batch/batch-buyer.js';
export type { BatchPaymentOption } from './client/batch/batch-option.js';
export type {
  BuyerChannelRecord,
  ChannelKey,
  ChannelStore,
  PendingDeposit,
} from './client/batch/channel-store.js';
export {
  createDepositTransaction,
  type DepositTransactionOptions,
} from './client/batch/deposit.js';
export { BatchClientError, type BatchClientReason } from './client/batch/errors.js';
export { createFileChannelStore } from './client/batch/file-channel-store.js';
export { createMemoryChannelStore } from './client/batch/memory-channel-store.js';
export { type BatchOffer, readBatchOffer } from './client/batch/offer.js';
export { channelsForOffer, newChannelForOffer } from './client/batch/offer-channel.js';
export { refundedRecord, refundPayload } from './client/batch/refund.js';
export type {
  ChannelCharge,
  ChannelLedger,
  ChannelRecord,
  EscrowChannelState,
} from './facilitator/batch/channel-ledger.js';
export type { ClaimPolicy } from './facilitator/batch/claims.js';
export {
  type BatchFacilitatorOptions,
  type BatchSettlementMechanism,
  batchSettlementFacilitator,
} from './facilitator/batch/mechanism.js';
export { createMemoryChannelLedger } from './facilitator/batch/memory-channel-ledger.js';
