/**
 * The `offer-receipt` extension on Stacks: offers and receipts signed by the seller with SIP-018, placed where the
 * upstream extension places them, and checked offline.
 * @module
 */
export {
  findSignedOffer,
  type OfferedTerms,
  offersExtension,
  readSignedOffers,
  readSignedReceipt,
  receiptExtension,
  type SignedArtifact,
} from './envelopes.js';
export {
  defaultServiceName,
  type OfferTerms,
  type ReceiptFacts,
  signOffer,
  signReceipt,
} from './issue.js';
export {
  OFFER_RECEIPT,
  OFFER_RECEIPT_VERSION,
  type OfferPayload,
  OfferPayloadSchema,
  type ReceiptPayload,
  ReceiptPayloadSchema,
  SIP018_FORMAT,
  type SignedOffer,
  type SignedReceipt,
  type Sip018Domain,
} from './schema.js';
export {
  type BoundSigner,
  bindSigner,
  type OfferReceiptSigner,
  type OfferReceiptSigningRequest,
  type RemoteOfferReceiptSigner,
} from './signer.js';
export { offerReceiptDomain, offerTupleCV, receiptTupleCV } from './tuples.js';
export {
  type OfferReceiptProblem,
  type OfferReceiptVerdict,
  type VerifyArtifactOptions,
  verifyOffer,
  verifyReceipt,
} from './verify.js';
