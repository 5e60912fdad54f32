/**
 * `x402-stacks/batch`: the batch-settlement scheme on Stacks, for all three roles. A buyer deposits into a batch-escrow
 * channel once, then pays each request with a cumulative SIP-018 voucher; the seller charges each request off chain;
 * the facilitator keeps the charged totals and claims many channels in one transaction. The wire format is specified
 * in `docs/batch-settlement-stacks.md`.
 * @module
 */
export * from './batch/index.js';
export {
  createDepositTransaction,
  type DepositTransactionOptions,
} from './client/batch/deposit.js';
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
