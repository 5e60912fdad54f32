/**
 * The public surface, reviewed like code: adding or removing a root export must change this list on purpose.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as root from './index.js';

const ROOT_EXPORTS = [
  'AmountV1Schema',
  'AtomicAmountSchema',
  'BTCtoSats',
  'CLIENT_REASON_CODES',
  'ChainRequestError',
  'DEFAULT_FEES',
  'DEFAULT_MAX_AMOUNT',
  'EXPOSED_HEADERS',
  'FacilitatorRequestError',
  'InMemoryLedger',
  'InsufficientBalanceError',
  'InvalidAddressError',
  'InvalidAmountError',
  'InvalidChainInputError',
  'InvalidHeaderError',
  'InvalidMnemonicError',
  'InvalidPaymentRequiredError',
  'InvalidPrivateKeyError',
  'InvalidTransactionIdError',
  'KNOWN_TOKENS',
  'LEGACY_TOKEN_TYPES',
  'LegacyPaymentRequestSchema',
  'LegacySettleRequestSchema',
  'LegacyTokenTypeSchema',
  'LegacyVerifyRequestSchema',
  'MAX_CHALLENGE_BODY_BYTES',
  'MAX_MEMO_BYTES',
  'MAX_PAYMENT_HEADER_LENGTH',
  'NetworkIdSchema',
  'NoAcceptableRequirementError',
  'PAYMENT_HEADERS',
  'PAYMENT_REQUEST_HEADERS',
  'PayerOptionsError',
  'PaymentError',
  'PaymentNetworkError',
  'PaymentOptionsError',
  'PaymentPayloadSchema',
  'PaymentPayloadV1Schema',
  'PaymentPolicyError',
  'PaymentRejectedError',
  'PaymentRequiredSchema',
  'PaymentRequiredV1Schema',
  'PaymentRequirementsSchema',
  'PaymentRequirementsV1Schema',
  'REASON_CODES',
  'ResourceInfoSchema',
  'SERVER_REASON_CODES',
  'STACKS_NETWORKS',
  'STX_ASSET',
  'STXtoMicroSTX',
  'ServerConfigError',
  'SettleRequestSchema',
  'SettleRequestV1Schema',
  'SettleResponseSchema',
  'SettleResponseV1Schema',
  'SettlementPendingError',
  'SupportedKindSchema',
  'SupportedResponseSchema',
  'USDCxToMicroUSDCx',
  'UnreplayableRequestError',
  'UnknownAssetError',
  'UnknownNetworkError',
  'VerifyRequestSchema',
  'VerifyRequestV1Schema',
  'VerifyResponseSchema',
  'VerifyResponseV1Schema',
  'X402StacksError',
  'addressFromHash160',
  'assetKey',
  'chainApiUrl',
  'checkChainState',
  'checkPaymentTransaction',
  'createChainClient',
  'chooseSponsorNonce',
  'createFacilitator',
  'DEFAULT_SPONSOR_LIMITS',
  'FacilitatorConfigError',
  'createFacilitatorClient',
  'createNonceAllocator',
  'createPayer',
  'createPaymentTransaction',
  'createResourceServer',
  'decodePaymentRequiredHeader',
  'decodePaymentResponse',
  'decodePaymentResponseHeader',
  'decodePaymentSignatureHeader',
  'decodeXPaymentHeader',
  'decodeXPaymentResponse',
  'decodeXPaymentResponseHeader',
  'describeReason',
  'encodePaymentRequiredHeader',
  'encodePaymentResponseHeader',
  'encodePaymentSignatureHeader',
  'encodeXPaymentHeader',
  'encodeXPaymentResponseHeader',
  'fromAtomic',
  'fromV1Options',
  'generateKeypair',
  'getExplorerURL',
  'getPayment',
  'isExactTransferToken',
  'isHighS',
  'isRawTransactionHex',
  'isSameAsset',
  'isStacksNetwork',
  'isTermsProblem',
  'isValidStacksAddress',
  'microSTXtoSTX',
  'microUSDCxToUSDCx',
  'mnemonicToAccount',
  'mnemonicToAccounts',
  'networkFromCAIP2',
  'networkOfAddressVersion',
  'networkToCAIP2',
  'parseAtomic',
  'parsePrincipal',
  'parseStacksAddress',
  'paymentMiddleware',
  'privateKeyToAccount',
  'readPaymentChallenge',
  'readPaymentOutcome',
  'readTextUpTo',
  'redactUrl',
  'resolveAsset',
  'resolveChainClient',
  'resolveNetwork',
  'resolvePaymentTerms',
  'satsToBTC',
  'secp256k1Backend',
  'signAsSponsor',
  'sponsorLimitProblem',
  'toAtomic',
  'transactionIdOf',
  'verifyOriginSignature',
  'verifySponsorSignature',
  'withPaymentInterceptor',
  'wrapAxiosWithPayment',
  'wrapFetchWithPayment',
  'x402PaymentRequired',
];

/** Every function name the product documentation imports from `x402-stacks`. */
const DOCUMENTED = [
  'privateKeyToAccount',
  'generateKeypair',
  'decodePaymentResponse',
  'decodeXPaymentResponse',
  'getExplorerURL',
  'STXtoMicroSTX',
  'BTCtoSats',
  'wrapAxiosWithPayment',
  'withPaymentInterceptor',
  'paymentMiddleware',
  'x402PaymentRequired',
  'getPayment',
];

/**
 * Subpaths kept off the root by design: Hono's middleware shares Express's names, and the @x402/core adapters'
 * declarations import @x402/core, which a root import must never need.
 */
const NOT_AT_ROOT = ['./hono', './x402'];

describe('x402-stacks root', () => {
  test('exports exactly the reviewed list', () => {
    assert.deepEqual(Object.keys(root).sort(), [...ROOT_EXPORTS].sort());
  });

  test('every documented name that exists is exported as a function', () => {
    for (const name of DOCUMENTED) {
      assert.equal(typeof (root as Record<string, unknown>)[name], 'function', name);
    }
  });

  test('every subpath export is also a root export with the same binding', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const subpaths = Object.keys(manifest.exports).filter(
      (key) => key !== '.' && key !== './package.json',
    );
    assert.ok(subpaths.length >= 10);
    const { entries } = (await import('../tsup.config.js')) as { entries: Record<string, string> };
    for (const subpath of subpaths.filter((s) => !NOT_AT_ROOT.includes(s))) {
      const source = entries[`${subpath.slice(2)}/index`]!.replace(/^src\//, './').replace(
        /\.ts$/,
        '.js',
      );
      const module = (await import(source)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        assert.equal((root as Record<string, unknown>)[name], value, `${subpath} ${name}`);
      }
    }
  });

  test('tsup builds one entry per exported subpath', async () => {
    const { entries } = await import('../tsup.config.js');
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const fromExports = Object.keys(manifest.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? 'index' : `${key.slice(2)}/index`))
      .sort();
    assert.deepEqual(Object.keys(entries).sort(), fromExports);
  });
});
