/**
 * `x402-stacks/server`: what a seller needs to charge. Today: prices in exact units, network and asset resolution,
 * and the seller's side of the header codecs. The framework-free resource-server core and the facilitator client join
 * here; the Express and Hono adapters get their own subpaths.
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
