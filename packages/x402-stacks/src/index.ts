/**
 * x402-stacks: HTTP 402 payments on Stacks, wire-compatible with x402 v2.
 *
 * The root is the deliberate public API, kept small so that every name in it is one we promise across versions:
 * - every name the x402-stacks documentation imports from `x402-stacks` (and the other root names of x402-stacks
 *   2.0 that this package implements), so code written for it runs unchanged;
 * - the entry point of each role (`createPayer`, the axios and fetch wrappers, `paymentMiddleware`,
 *   `createResourceServer`, `createFacilitatorClient`, `createFacilitator`, `createChainClient`) and the types they
 *   take and return;
 * - every error class, so that `instanceof` works from one import.
 * Helpers stay on their subpaths (`x402-stacks/protocol`, `/stacks`, `/chain`, `/client`, `/server`, `/facilitator`,
 * `/v1`, `/express`, `/hono`, `/axios`, `/fetch`, `/x402`). Deprecated names come from `./deprecated.ts`.
 * `api/exports.json` records what each entry exports; a test compares it with the code.
 * @module
 */
export {
  type ChainClient,
  type ChainClientOptions,
  ChainRequestError,
  type ChainRequestReason,
  createChainClient,
  InvalidChainInputError,
} from './chain/index.js';
export {
  BatchClientError,
  type BudgetStore,
  BudgetStoreError,
  type ClientReasonCode,
  createPayer,
  InsufficientBalanceError,
  InvalidPaymentRequiredError,
  NoAcceptableRequirementError,
  type Payer,
  PayerOptionsError,
  PaymentError,
  PaymentNetworkError,
  type PaymentOptions,
  PaymentPolicyError,
  type PaymentReceipt,
  PaymentRejectedError,
  type PaymentRequiredContext,
  type PolicyReason,
  privateKeySigner,
  SettlementPendingError,
  type Signer,
  SignerError,
  type SpendingPolicyOptions,
  UnreplayableRequestError,
  UntrustedOfferError,
  wrapAxiosWithPayment,
  wrapFetchWithPayment,
} from './client/index.js';
export { withPaymentInterceptor, x402PaymentRequired } from './deprecated.js';
export { X402StacksError, type X402StacksErrorOptions } from './errors/base.js';
export {
  createFacilitator,
  type Facilitator,
  FacilitatorConfigError,
  type FacilitatorOptions,
  InMemoryLedger,
  type Ledger,
} from './facilitator/index.js';
export {
  decodePaymentResponse,
  decodeXPaymentResponse,
  type HeaderValue,
  InvalidHeaderError,
  type InvalidHeaderReason,
  type PaymentPayload,
  type PaymentRequired,
  type PaymentRequirements,
  type ReasonCode,
  type SettleResponse,
  type SettleResponseV1,
  type VerifyResponse,
} from './protocol/index.js';
// The root's middleware is Express's, as the documentation imports it; Hono's is at `x402-stacks/hono`.
export { getPayment, paymentMiddleware } from './server/express/index.js';
export {
  createFacilitatorClient,
  createResourceServer,
  type FacilitatorClient,
  type FacilitatorClientOptions,
  FacilitatorRequestError,
  type FacilitatorRequestReason,
  type Payment,
  type PaymentMiddlewareOptions,
  type PaymentMiddlewareOptionsV1,
  type Price,
  type PriceFunction,
  type Prices,
  type ResourceServer,
  ServerConfigError,
  type ServerReasonCode,
} from './server/index.js';
export {
  BTCtoSats,
  generateKeypair,
  getExplorerURL,
  InvalidAddressError,
  InvalidAmountError,
  InvalidMnemonicError,
  InvalidPrivateKeyError,
  InvalidTransactionIdError,
  isValidStacksAddress,
  microSTXtoSTX,
  microUSDCxToUSDCx,
  networkFromCAIP2,
  networkToCAIP2,
  PaymentOptionsError,
  privateKeyToAccount,
  STACKS_NETWORKS,
  STXtoMicroSTX,
  type StacksAccount,
  type StacksNetwork,
  type StacksNetworkId,
  type StacksNetworkInput,
  type StacksNetworkName,
  satsToBTC,
  UnknownAssetError,
  UnknownNetworkError,
  USDCxToMicroUSDCx,
} from './stacks/index.js';
// The @x402/core adapter's error only: the rest of `x402-stacks/x402` names @x402/core types, which the root avoids.
export { ExactStacksSchemeError } from './x402/errors.js';
