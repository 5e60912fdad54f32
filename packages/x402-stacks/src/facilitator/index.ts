/**
 * `x402-stacks/facilitator`: what verifies payments. Today: the pure payment check, payment terms, the verify and
 * settle wire schemas, the reason codes, and the Ledger (with its in-memory implementation). The verify/settle
 * engine joins here.
 * @module
 */
export { describeReason, REASON_CODES, type ReasonCode } from '../protocol/reasons.js';
export {
  SettleRequestSchema,
  SettleResponseSchema,
  SupportedResponseSchema,
  VerifyRequestSchema,
  VerifyResponseSchema,
} from '../protocol/v2.js';
export {
  type CheckPaymentOptions,
  checkChainState,
  checkPaymentTransaction,
  type PaymentCheck,
  type PostConditionPolicy,
} from '../stacks/payment/check.js';
export {
  type SignAsSponsorOptions,
  type SponsoredTransaction,
  signAsSponsor,
} from '../stacks/payment/sponsor.js';
export { isTermsProblem, resolvePaymentTerms } from '../stacks/payment/terms.js';
export { secp256k1Backend } from '../stacks/secp256k1.js';
export { transactionIdOf } from '../stacks/signature.js';
export { answerForClaim, type StoredAnswer } from './claim-answer.js';
export { DEFAULT_SPONSOR_LIMITS } from './context.js';
export type { DiscoveryOptions, DiscoveryRefusal } from './discovery.js';
export type {
  DiscoveryCaps,
  DiscoveryCatalog,
  DiscoveryRecord,
  DiscoveryRecordOutcome,
} from './discovery-catalog.js';
export {
  type ChainHealth,
  createFacilitator,
  type Facilitator,
  type SettlementStatus,
} from './engine.js';
export { FacilitatorConfigError } from './errors.js';
export type { Keeper, KeeperReport } from './keeper.js';
export type {
  ClaimResult,
  Ledger,
  NewSettlement,
  PaymentIdBinding,
  PaymentIdKey,
  PaymentIdReplay,
  PaymentIdRetention,
  ReleaseOptions,
  ReleaseSponsorshipOptions,
  SendClaimResult,
  SettlementAnswer,
  SettlementRecord,
  SettlementState,
  SettlementUpdate,
  SponsorAccount,
  SponsorCandidate,
  SponsorLimits,
  SponsorshipRequest,
  SponsorshipResult,
} from './ledger.js';
export type {
  AttachedMechanism,
  MechanismHost,
  MechanismSettleOptions,
  SchemeMechanism,
  SchemeOptions,
} from './mechanism.js';
export { InMemoryDiscoveryCatalog } from './memory-discovery-catalog.js';
export { InMemoryLedger } from './memory-ledger.js';
export type { FacilitatorOptions, NetworkConnection, SponsorOptions } from './options.js';
export { parseVerifyRequest } from './parsed-payment.js';
export { SETTLE_STEPS, type SettleStep, type SettleStepObserver } from './settle-steps.js';
export {
  chooseSponsorNonce,
  type SponsorNonceBook,
  type SponsorNonceChoice,
  type SponsorUsage,
  sponsorLimitProblem,
} from './sponsor-choice.js';
export type { SponsorHealth } from './sponsor-pool.js';
