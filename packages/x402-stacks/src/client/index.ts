/**
 * `x402-stacks/client`: what a buyer needs to pay. Accounts, the payer core (reading a 402, choosing a requirement
 * within a spending policy, nonces, fees, signing, reading the receipt), both wrappers (`wrapAxiosWithPayment`,
 * `wrapFetchWithPayment`), their errors, and the buyer's side of the header codecs.
 * @module
 */

export type { StructuredDataSigner } from '../extensions/sign-in-with-x/proof.js';
export {
  decodePaymentRequiredHeader,
  decodePaymentResponse,
  decodeXPaymentResponse,
  encodePaymentSignatureHeader,
  encodeXPaymentHeader,
  PAYMENT_HEADERS,
} from '../protocol/headers.js';
export type { PaymentPayload, PaymentRequired, PaymentRequirements } from '../protocol/v2.js';
export {
  generateKeypair,
  mnemonicToAccount,
  privateKeyToAccount,
  type StacksAccount,
} from '../stacks/accounts.js';
export { SignerError } from '../stacks/errors.js';
export { getExplorerURL } from '../stacks/explorer.js';
export {
  type CreatePaymentTransactionOptions,
  createPaymentTransaction,
  type PaymentTransaction,
} from '../stacks/payment/create.js';
export {
  privateKeySigner,
  type Signer,
  type SignTransactionRequest,
} from '../stacks/signer.js';
export { wrapAxiosWithPayment } from './axios/index.js';
export type { BatchPaymentOption } from './batch/batch-option.js';
export { BatchClientError, type BatchClientReason } from './batch/errors.js';
export { MAX_CHALLENGE_BODY_BYTES, readTextUpTo } from './body.js';
export {
  type BudgetReservation,
  type BudgetStore,
  createMemoryBudgetStore,
} from './budget.js';
export { createFileBudgetStore, type FileBudgetStoreOptions } from './budget-file.js';
export type { BudgetLimits, BudgetRefusal, BudgetUsage } from './budget-ledger.js';
export { type ChainSourceOptions, chainApiUrl, resolveChainClient } from './chain-source.js';
export { type PaymentChallenge, type PaymentOffer, readPaymentChallenge } from './challenge.js';
export {
  BudgetStoreError,
  CLIENT_REASON_CODES,
  type ClientReasonCode,
  InsufficientBalanceError,
  InvalidPaymentRequiredError,
  NoAcceptableRequirementError,
  PayerOptionsError,
  PaymentError,
  PaymentNetworkError,
  PaymentPolicyError,
  PaymentRejectedError,
  type PolicyReason,
  type RequirementRefusal,
  SettlementPendingError,
  UnreplayableRequestError,
  UntrustedOfferError,
} from './errors.js';
export { DEFAULT_FEES, type FeeOptions } from './fees.js';
export { wrapFetchWithPayment } from './fetch/index.js';
export {
  createNonceAllocator,
  type NonceAcquireOptions,
  type NonceAllocator,
  type NonceAllocatorOptions,
  type NonceLease,
} from './nonces.js';
export type { OfferReceiptPayerOptions } from './offer-receipt.js';
export { type PaidAnswer, type PaymentOutcome, readPaymentOutcome } from './outcome.js';
export { getPaymentReceipt } from './paid-responses.js';
export {
  createPayer,
  PAYMENT_REQUEST_HEADERS,
  type Payer,
  type PaymentOptions,
  type PaymentRequiredContext,
} from './payer.js';
export {
  type AssetAmounts,
  type AtomicAmountInput,
  DEFAULT_BUDGET_WINDOW_MS,
  DEFAULT_MAX_AMOUNT,
  type SpendingPolicyOptions,
} from './policy.js';
export type { PaymentReceipt, PreparedPayment } from './prepared.js';
export {
  SIGNER_MAX_LINE_BYTES,
  type SignerAnswer,
  type SignerRequest,
  signerAnswerSchema,
  signerRequestSchema,
} from './signer-protocol.js';
export { type SocketSignerOptions, socketSigner } from './socket-signer.js';
