/**
 * `x402-stacks/extensions`: the x402 extensions on Stacks. Each extension has its own folder with its envelope
 * schema and the pure logic its server, client and facilitator sides share; the roles wire them in.
 * @module
 */

export * from './bazaar/index.js';
export {
  type ExtensionEnvelope,
  ExtensionEnvelopeSchema,
  type ExtensionRead,
  readExtensionInfo,
  withExtension,
} from './envelope.js';
export * from './offer-receipt/index.js';
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
export {
  declareSiwxStacks,
  readSiwxDeclaration,
  siwxStacksChain,
} from './sign-in-with-x/declaration.js';
export {
  type SiwxStacksFields,
  siwxStacksDomain,
  siwxStacksMessage,
  siwxStacksNetwork,
} from './sign-in-with-x/message.js';
export {
  createSiwxStacksProof,
  encodeSiwxHeader,
  isSiwxChallengeFor,
  readSiwxHeader,
  type SiwxExpectations,
  type SiwxRefusal,
  type SiwxRefusalReason,
  type SiwxVerdict,
  type StructuredDataSigner,
  verifySiwxStacksProof,
} from './sign-in-with-x/proof.js';
export {
  SIGN_IN_WITH_X,
  SIWX_STACKS_SIGNATURE_TYPE,
  type SiwxDeclaration,
  SiwxDeclarationSchema,
  type SiwxInfo,
  SiwxInfoSchema,
  type SiwxPayload,
  SiwxPayloadSchema,
  type SiwxSupportedChain,
  SiwxSupportedChainSchema,
  siwxProofJsonSchema,
} from './sign-in-with-x/schema.js';
