/**
 * `x402-stacks/stacks`: networks, assets, exact units, addresses, accounts, explorer links, and building and
 * checking Stacks payment transactions. Nothing here touches the network.
 * @module
 */
export {
  generateKeypair,
  mnemonicToAccount,
  mnemonicToAccounts,
  privateKeyToAccount,
  type StacksAccount,
} from './accounts.js';
export {
  addressFromHash160,
  isValidStacksAddress,
  type ParsedPrincipal,
  type ParsedStacksAddress,
  parsePrincipal,
  parseStacksAddress,
} from './address.js';
export {
  assetKey,
  type ContractId,
  isExactTransferToken,
  isSameAsset,
  KNOWN_TOKENS,
  type KnownTokenSymbol,
  type ResolveAssetOptions,
  resolveAsset,
  STX_ASSET,
  type StacksAsset,
} from './assets.js';
export {
  InvalidAddressError,
  InvalidAmountError,
  InvalidMnemonicError,
  InvalidPrivateKeyError,
  InvalidTransactionIdError,
  PaymentOptionsError,
  SignerError,
  UnknownAssetError,
  UnknownNetworkError,
} from './errors.js';
export { getExplorerURL } from './explorer.js';
export {
  isStacksNetwork,
  networkFromCAIP2,
  networkOfAddressVersion,
  networkToCAIP2,
  type ResolveNetworkOptions,
  resolveNetwork,
  STACKS_NETWORKS,
  type StacksNetwork,
  type StacksNetworkId,
  type StacksNetworkInput,
  type StacksNetworkName,
} from './networks.js';
export { boundResource, MAX_BOUND_RESOURCE_LENGTH } from './payment/bound-resource.js';
export {
  type CheckPaymentOptions,
  checkChainState,
  checkPaymentTransaction,
  type InvalidPaymentCheck,
  type PaymentCheck,
  type PostConditionPolicy,
  type ValidPaymentCheck,
} from './payment/check.js';
export {
  type CreatePaymentTransactionOptions,
  createPaymentTransaction,
  MAX_MEMO_BYTES,
  type PaymentTransaction,
} from './payment/create.js';
export { readPaymentTransaction } from './payment/read-transaction.js';
export {
  formatPrice,
  isTermsProblem,
  type PaymentTerms,
  resolvePaymentTerms,
  type StacksPaymentRequirements,
  type TermsProblem,
} from './payment/terms.js';
export {
  readUnsignedPayment,
  type UnsignedPayment,
  type UnsignedPaymentProblem,
} from './payment/unsigned.js';
export { type Secp256k1Backend, secp256k1Backend } from './secp256k1.js';
export {
  isHighS,
  type OriginSignatureVerdict,
  transactionIdOf,
  verifyOriginSignature,
  verifySponsorSignature,
} from './signature.js';
export {
  isSigner,
  originSighash,
  privateKeySigner,
  type Signer,
  type SignTransactionRequest,
  signOrigin,
  toSigner,
} from './signer.js';
export {
  recoverStructuredDataSigner,
  type StructuredDataDomain,
  type StructuredDataSignatureProblem,
  type StructuredDataSignatureVerdict,
  signStructuredData,
  structuredDataDomainCV,
  structuredDataHash,
  verifyStructuredDataSignature,
} from './structured-data.js';
export {
  BTCtoSats,
  type DecimalInput,
  formatAmount,
  fromAtomic,
  microSTXtoSTX,
  microUSDCxToUSDCx,
  parseAtomic,
  STXtoMicroSTX,
  satsToBTC,
  toAtomic,
  USDCxToMicroUSDCx,
} from './units.js';
