/**
 * `x402-stacks/v1`: the v1 wire format, accepted on input everywhere: `X-PAYMENT` payloads, `maxAmountRequired`,
 * network names, and the `{txId, amount, sender}` settle response. v2 is always what we emit.
 * @module
 */
export {
  decodeXPaymentHeader,
  decodeXPaymentResponse,
  decodeXPaymentResponseHeader,
  encodeXPaymentHeader,
  encodeXPaymentResponseHeader,
} from '../protocol/headers.js';
export {
  type PaymentPayloadV1,
  PaymentPayloadV1Schema,
  type PaymentRequiredV1,
  PaymentRequiredV1Schema,
  type PaymentRequirementsV1,
  PaymentRequirementsV1Schema,
  type SettleRequestV1,
  SettleRequestV1Schema,
  type SettleResponseV1,
  SettleResponseV1Schema,
  type VerifyRequestV1,
  VerifyRequestV1Schema,
  type VerifyResponseV1,
  VerifyResponseV1Schema,
} from '../protocol/v1.js';
