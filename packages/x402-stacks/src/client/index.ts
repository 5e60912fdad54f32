/**
 * `x402-stacks/client`: what a buyer needs to pay. Today: accounts, building the payment transaction, and the
 * buyer's side of the header codecs. The axios and fetch wrappers join here.
 * @module
 */
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
export { getExplorerURL } from '../stacks/explorer.js';
export {
  type CreatePaymentTransactionOptions,
  createPaymentTransaction,
  type PaymentTransaction,
} from '../stacks/payment/create.js';
