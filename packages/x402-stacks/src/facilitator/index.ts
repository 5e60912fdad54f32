/**
 * `x402-stacks/facilitator`: what verifies payments. Today: the pure payment check, payment terms, the verify and
 * settle wire schemas and the reason codes. The verify/settle engine with its Ledger joins here.
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
  checkPaymentTransaction,
  type PaymentCheck,
  type PostConditionPolicy,
} from '../stacks/payment/check.js';
export { isTermsProblem, resolvePaymentTerms } from '../stacks/payment/terms.js';
export { secp256k1Backend, transactionIdOf } from '../stacks/signature.js';
