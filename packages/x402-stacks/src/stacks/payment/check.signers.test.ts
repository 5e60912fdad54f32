/**
 * Payers other than the plain P2PKH account, anchor modes, and encodings the node accepts but a re-serializing
 * library would change: the corners of checkPaymentTransaction that the main table does not reach.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  AnchorMode,
  Cl,
  makeContractCall,
  makeSTXTokenTransfer,
  Pc,
  privateKeyToPublic,
} from '@stacks/transactions';
import {
  asWitness as asWitnessOf,
  PAY_TO,
  PAYER_KEY,
  PAYER_TESTNET,
  resign,
  witnessAddressOf,
} from '@x402-stacks/test-kit/fixtures';
import { InvalidAmountError } from '../errors.js';
import { checkPaymentTransaction } from './check.js';

const SBTC = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token';
const requirements = (asset: string, amount = '5000') => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount,
  asset,
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
});

// P2WPKH addresses use the multi-sig version (SN on testnet).
const WITNESS_PAYER = witnessAddressOf(PAYER_KEY);

/** Re-signs a transaction as a P2WPKH origin of the same key. */
const asWitness = (hex: string) => asWitnessOf(hex, PAYER_KEY);

async function sbtcFrom(sender: string, principal = sender): Promise<string> {
  const tx = await makeContractCall({
    contractAddress: SBTC.split('.')[0]!,
    contractName: 'sbtc-token',
    functionName: 'transfer',
    functionArgs: [Cl.uint(5000n), Cl.principal(sender), Cl.principal(PAY_TO), Cl.none()],
    senderKey: PAYER_KEY,
    network: 'testnet',
    fee: 3000n,
    nonce: 0n,
    postConditionMode: 'deny',
    postConditions: [Pc.principal(principal).willSendEq(5000n).ft(SBTC, 'sbtc-token')],
    validateWithAbi: false,
  });
  return tx.serialize();
}

async function stxTransfer(memo?: string): Promise<string> {
  const tx = await makeSTXTokenTransfer({
    recipient: PAY_TO,
    amount: 5000n,
    senderKey: PAYER_KEY,
    network: 'testnet',
    fee: 300n,
    nonce: 0n,
    ...(memo === undefined ? {} : { memo }),
  });
  return tx.serialize();
}

describe('checkPaymentTransaction: payers', () => {
  test('a P2WPKH payer is its SN address, for STX', async () => {
    assert.match(WITNESS_PAYER, /^SN/);
    const check = checkPaymentTransaction(asWitness(await stxTransfer()), requirements('STX'));
    assert.equal(check.isValid, true, check.isValid ? '' : check.invalidReason);
    assert.equal(check.payer, WITNESS_PAYER);
  });

  test('a P2WPKH payer must name its SN address as the sBTC sender', async () => {
    const good = asWitness(await sbtcFrom(WITNESS_PAYER));
    const check = checkPaymentTransaction(good, requirements('sBTC'));
    assert.equal(check.isValid, true, check.isValid ? '' : check.invalidReason);
    assert.equal(check.payer, WITNESS_PAYER);
    // The same key's ST spelling is another principal on chain: sbtc-token would abort with (err u4).
    const bad = asWitness(await sbtcFrom(PAYER_TESTNET, WITNESS_PAYER));
    const refused = checkPaymentTransaction(bad, requirements('sBTC'));
    assert.equal(refused.isValid, false);
    assert.equal(
      !refused.isValid && refused.invalidReason,
      'invalid_exact_stacks_payload_sender_mismatch',
    );
  });

  test('a P2WPKH payer’s post-condition must name the SN address', async () => {
    const bad = asWitness(await sbtcFrom(WITNESS_PAYER, PAYER_TESTNET));
    const refused = checkPaymentTransaction(bad, requirements('sBTC'));
    assert.equal(
      !refused.isValid && refused.invalidReason,
      'invalid_exact_stacks_payload_post_conditions',
    );
  });

  test('a 1-of-1 multisig payer pays from its SN address', async () => {
    const publicKey = privateKeyToPublic(PAYER_KEY) as string;
    const tx = await makeSTXTokenTransfer({
      recipient: PAY_TO,
      amount: 5000n,
      numSignatures: 1,
      publicKeys: [publicKey],
      signerKeys: [PAYER_KEY],
      network: 'testnet',
      fee: 400n,
      nonce: 0n,
    });
    const check = checkPaymentTransaction(tx.serialize(), requirements('STX'));
    assert.equal(check.isValid, true, check.isValid ? '' : check.invalidReason);
    assert.match(check.payer ?? '', /^SN/);
  });
});

describe('checkPaymentTransaction: anchor mode', () => {
  test('on-chain-only and any are accepted; microblock-only is refused', async () => {
    const base = await stxTransfer();
    for (const [mode, valid] of [
      [AnchorMode.OnChainOnly, true],
      [AnchorMode.Any, true],
      [AnchorMode.OffChainOnly, false],
    ] as const) {
      const hex = resign(base, PAYER_KEY, (tx) => {
        tx.anchorMode = mode;
      });
      const check = checkPaymentTransaction(hex, requirements('STX'));
      assert.equal(check.isValid, valid, `anchor mode ${mode}`);
      if (!check.isValid)
        assert.equal(check.invalidReason, 'invalid_exact_stacks_payload_anchor_mode');
    }
  });
});

describe('checkPaymentTransaction: encodings', () => {
  test('a memo that is not UTF-8 is refused before anything re-serializes it', async () => {
    const hex = await stxTransfer('x402');
    // The memo is the last 34 bytes; 0xff never occurs in UTF-8.
    const bytes = hexToBytes(hex);
    bytes[bytes.length - 30] = 0xff;
    const check = checkPaymentTransaction(bytesToHex(bytes), requirements('STX'));
    assert.equal(!check.isValid && check.invalidReason, 'invalid_exact_stacks_payload_memo');
    const clean = checkPaymentTransaction(hex, requirements('STX'));
    assert.equal(clean.isValid, true);
  });

  test('a contract address version c32check cannot spell is a refusal, not a crash', async () => {
    const hex = await sbtcFrom(PAYER_TESTNET);
    // The payload's contract address is the last "02 15 <hash160 of the sBTC deployer>" (15: testnet multi-sig).
    const marker = '0215f748f5d5313ff79c32b976ecf5bcd60600f75aec';
    const at = hex.lastIndexOf(marker);
    assert.ok(at > 0);
    const bad = `${hex.slice(0, at)}02ff${hex.slice(at + 4)}`;
    const check = checkPaymentTransaction(bad, requirements('sBTC'));
    assert.equal(check.isValid, false);
    assert.ok(!check.isValid && check.invalidReason.startsWith('invalid_exact_stacks_payload_'));
  });
});

describe('checkPaymentTransaction: limits', () => {
  test('amounts a transaction cannot encode are refused as requirements', async () => {
    const hex = await stxTransfer();
    for (const [asset, amount] of [
      ['STX', (2n ** 64n).toString()],
      ['sBTC', (2n ** 128n).toString()],
    ] as const) {
      const check = checkPaymentTransaction(hex, requirements(asset, amount));
      assert.equal(!check.isValid && check.invalidReason, 'invalid_payment_requirements', asset);
    }
  });

  test('an expectedNonce that is not an integer is a usage error', async () => {
    const hex = await stxTransfer();
    assert.throws(
      () => checkPaymentTransaction(hex, requirements('STX'), { expectedNonce: 1.5 }),
      (error: unknown) => error instanceof InvalidAmountError,
    );
  });
});
