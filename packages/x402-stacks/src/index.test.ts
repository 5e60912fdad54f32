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
  'ChainRequestError',
  'InMemoryLedger',
  'InvalidAddressError',
  'InvalidAmountError',
  'InvalidChainInputError',
  'InvalidHeaderError',
  'InvalidMnemonicError',
  'InvalidPrivateKeyError',
  'InvalidTransactionIdError',
  'KNOWN_TOKENS',
  'MAX_MEMO_BYTES',
  'MAX_PAYMENT_HEADER_LENGTH',
  'NetworkIdSchema',
  'PAYMENT_HEADERS',
  'PaymentOptionsError',
  'PaymentPayloadSchema',
  'PaymentPayloadV1Schema',
  'PaymentRequiredSchema',
  'PaymentRequiredV1Schema',
  'PaymentRequirementsSchema',
  'PaymentRequirementsV1Schema',
  'REASON_CODES',
  'ResourceInfoSchema',
  'STACKS_NETWORKS',
  'STX_ASSET',
  'STXtoMicroSTX',
  'SettleRequestSchema',
  'SettleRequestV1Schema',
  'SettleResponseSchema',
  'SettleResponseV1Schema',
  'SupportedKindSchema',
  'SupportedResponseSchema',
  'USDCxToMicroUSDCx',
  'UnknownAssetError',
  'UnknownNetworkError',
  'VerifyRequestSchema',
  'VerifyRequestV1Schema',
  'VerifyResponseSchema',
  'VerifyResponseV1Schema',
  'X402StacksError',
  'addressFromHash160',
  'assetKey',
  'checkChainState',
  'checkPaymentTransaction',
  'createChainClient',
  'createFacilitator',
  'createPaymentTransaction',
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
  'generateKeypair',
  'getExplorerURL',
  'isExactTransferToken',
  'isHighS',
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
  'privateKeyToAccount',
  'redactUrl',
  'resolveAsset',
  'resolveNetwork',
  'resolvePaymentTerms',
  'satsToBTC',
  'secp256k1Backend',
  'toAtomic',
  'transactionIdOf',
  'verifyOriginSignature',
  'verifySponsorSignature',
];

/**
 * Names the product documentation uses that exist after the foundation. The client and middleware names
 * (`wrapAxiosWithPayment`, `paymentMiddleware`, `getPayment`, `withPaymentInterceptor`, `x402PaymentRequired`) join
 * this list with the issues that build them.
 */
const DOCUMENTED = [
  'privateKeyToAccount',
  'generateKeypair',
  'decodePaymentResponse',
  'decodeXPaymentResponse',
  'getExplorerURL',
  'STXtoMicroSTX',
];

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
    assert.ok(subpaths.length >= 6);
    for (const subpath of subpaths) {
      const module = (await import(`./${subpath.slice(2)}/index.js`)) as Record<string, unknown>;
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
