/**
 * `x402-stacks/server`: what a seller needs to charge, without a framework. The resource-server core that the
 * Express (`x402-stacks/express`) and Hono (`x402-stacks/hono`) middleware adapt, the facilitator client, prices in
 * exact units, network and asset resolution, and the seller's side of the header codecs.
 * @module
 */
export {
  decodePaymentSignatureHeader,
  decodeXPaymentHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodeXPaymentResponseHeader,
  MAX_PAYMENT_HEADER_LENGTH,
} from '../protocol/headers.js';
export type { PaymentRequired, ResourceInfo, SettleResponse } from '../protocol/v2.js';
export { resolveAsset } from '../stacks/assets.js';
export { networkToCAIP2, resolveNetwork } from '../stacks/networks.js';
export { BTCtoSats, STXtoMicroSTX, toAtomic, USDCxToMicroUSDCx } from '../stacks/units.js';
export {
  FacilitatorRequestError,
  type FacilitatorRequestReason,
  ServerConfigError,
} from './errors.js';
export {
  createFacilitatorClient,
  type FacilitatorClient,
  type FacilitatorClientOptions,
  type FacilitatorSettlementStatus,
} from './facilitator-client.js';
export {
  fromV1Options,
  type OfferReceiptOptions,
  type PaymentMiddlewareOptions,
  type PaymentMiddlewareOptionsV1,
  type SettleOrder,
} from './options.js';
export type { AtomicPrice, Price, PriceFunction, Prices } from './pricing.js';
export { SERVER_REASON_CODES, type ServerReasonCode } from './reasons.js';
export { EXPOSED_HEADERS, type PaywallReply } from './replies.js';
export {
  type Admission,
  createResourceServer,
  type DeferredAdmission,
  type Payment,
  type PaywallRequest,
  type ReplyAdmission,
  type ResourceServer,
  type ServeAdmission,
} from './resource-server.js';
export type { SignInWithXOptions } from './siwx-gate.js';
export {
  createMemorySiwxStore,
  type MemorySiwxStoreOptions,
  type SiwxNonceUse,
  type SiwxPaymentRecord,
  type SiwxStore,
} from './siwx-store.js';
