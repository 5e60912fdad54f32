/**
 * The x402 wire protocol: v2 and v1 schemas, header codecs, reason codes. Import from
 * `x402-stacks/protocol`.
 * @module
 */
export { InvalidHeaderError, type InvalidHeaderReason } from './errors.js';
export {
  decodePaymentRequiredHeader,
  decodePaymentResponse,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  decodeXPaymentHeader,
  decodeXPaymentResponse,
  decodeXPaymentResponseHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  encodeXPaymentHeader,
  encodeXPaymentResponseHeader,
  type HeaderValue,
  MAX_PAYMENT_HEADER_LENGTH,
  PAYMENT_HEADERS,
  type PaymentHeaderName,
} from './headers.js';
export { describeReason, REASON_CODES, type ReasonCode } from './reasons.js';
export {
  type AmountV1,
  AmountV1Schema,
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
} from './v1.js';
export {
  type AtomicAmount,
  AtomicAmountSchema,
  type NetworkId,
  NetworkIdSchema,
  type PaymentPayload,
  PaymentPayloadSchema,
  type PaymentRequired,
  PaymentRequiredSchema,
  type PaymentRequirements,
  PaymentRequirementsSchema,
  type ResourceInfo,
  ResourceInfoSchema,
  type SettleRequest,
  SettleRequestSchema,
  type SettleResponse,
  SettleResponseSchema,
  type SupportedKind,
  SupportedKindSchema,
  type SupportedResponse,
  SupportedResponseSchema,
  type VerifyRequest,
  VerifyRequestSchema,
  type VerifyResponse,
  VerifyResponseSchema,
} from './v2.js';
