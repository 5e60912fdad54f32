/**
 * `x402-stacks/extensions`: the x402 extensions on Stacks. Each extension has its own folder with its envelope
 * schema and the pure logic its server, client and facilitator sides share; the roles wire them in.
 * @module
 */
export {
  type ExtensionEnvelope,
  ExtensionEnvelopeSchema,
  type ExtensionRead,
  readExtensionInfo,
  withExtension,
} from './envelope.js';
export {
  createPaymentId,
  declarePaymentIdentifier,
  PAYMENT_ID_MAX_LENGTH,
  PAYMENT_ID_MIN_LENGTH,
  PAYMENT_IDENTIFIER,
  PAYMENT_IDENTIFIER_JSON_SCHEMA,
  type PaymentIdentifierInfo,
  PaymentIdentifierInfoSchema,
  type PaymentIdOf,
  PaymentIdSchema,
  paymentIdOf,
  readPaymentIdentifier,
  withPaymentId,
} from './payment-identifier/index.js';
