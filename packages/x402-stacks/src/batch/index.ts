/**
 * `x402-stacks/batch`: the batch-settlement scheme on Stacks. A buyer deposits into a batch-escrow channel once, then
 * pays each request with a cumulative SIP-018 voucher; the receiver side claims many channels in one transaction.
 * The wire format is specified in `docs/batch-settlement-stacks.md`.
 * @module
 */
export {
  channelConfigCV,
  channelIdOf,
  claimBatchHash,
  escrowDomain,
  refundHash,
  signVoucher,
  voucherHash,
  voucherSigner,
} from './channel.js';
export {
  type BatchAttempt,
  type BatchBuyer,
  type BatchBuyerOptions,
  type BatchRefusal,
  createBatchBuyer,
  type DepositNonceLease,
} from './client/batch-buyer.js';
export type {
  BuyerChannelRecord,
  ChannelKey,
  ChannelStore,
  PendingDeposit,
} from './client/channel-store.js';
export {
  createDepositTransaction,
  type DepositTransactionOptions,
} from './client/deposit.js';
export { BatchClientError, type BatchClientReason } from './client/errors.js';
export { createFileChannelStore } from './client/file-channel-store.js';
export { createMemoryChannelStore } from './client/memory-channel-store.js';
export { type BatchOffer, readBatchOffer } from './client/offer.js';
export type {
  ChannelCharge,
  ChannelLedger,
  ChannelRecord,
  EscrowChannelState,
} from './facilitator/channel-ledger.js';
export type { ClaimPolicy } from './facilitator/claims.js';
export {
  type BatchFacilitatorOptions,
  type BatchSettlementMechanism,
  batchSettlementFacilitator,
} from './facilitator/mechanism.js';
export { createMemoryChannelLedger } from './facilitator/memory-channel-ledger.js';
export {
  BATCH_SETTLEMENT,
  type BatchExtra,
  BatchExtraSchema,
  type BatchPayload,
  BatchPayloadSchema,
  type BatchSettleExtra,
  BatchSettleExtraSchema,
  type ChannelConfig,
  ChannelConfigSchema,
  type ChannelState,
  ChannelStateSchema,
  type DepositPayload,
  DepositPayloadSchema,
  type RefundPayload,
  RefundPayloadSchema,
  type Voucher,
  type VoucherPayload,
  VoucherPayloadSchema,
  VoucherSchema,
  type VoucherState,
  VoucherStateSchema,
  WITHDRAW_DELAY_BOUNDS,
} from './wire.js';
