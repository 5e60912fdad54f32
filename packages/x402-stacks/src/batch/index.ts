/**
 * The batch-settlement scheme's core: its wire format and the escrow's hashes, below the roles that use them. A buyer deposits into a batch-escrow channel once, then
 * pays each request with a cumulative SIP-018 voucher; the receiver side claims many channels in one transaction.
 * The wire format is specified in `docs/batch-settlement-stacks.md`; `x402-stacks/batch` (`../batch-settlement.ts`)
 * adds each role's side.
 * @module
 */
export {
  channelConfigCV,
  channelIdOf,
  claimBatchHash,
  escrowDomain,
  isVoucherSignedBy,
  refundHash,
  signVoucher,
  voucherHash,
  voucherSigner,
} from './channel.js';
export { type EscrowChannelReading, readEscrowChannel } from './escrow-reads.js';
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
