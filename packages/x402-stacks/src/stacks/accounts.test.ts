import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  generateKeypair,
  mnemonicToAccount,
  mnemonicToAccounts,
  privateKeyToAccount,
} from './accounts.js';
import { InvalidMnemonicError, InvalidPrivateKeyError } from './errors.js';

// Clarinet's published devnet deployer: a public test mnemonic, never funded on a real network.
const DEPLOYER_MNEMONIC =
  'twice kind fence tip hidden tilt action fragile skin nothing glory cousin green tomorrow spring wrist shed math olympic multiply hip blue scout claw';
const DEPLOYER_KEY = '753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601';
const isBadKey = (error: unknown) =>
  error instanceof InvalidPrivateKeyError && error.reason === 'invalid_private_key';

describe('privateKeyToAccount', () => {
  test('derives the address, public key and network of a compressed key', () => {
    const account = privateKeyToAccount(DEPLOYER_KEY, 'testnet');
    assert.equal(account.address, 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
    assert.equal(
      account.publicKey,
      '0390a5cac7c33fda49f70bc1b0866fa0ba7a9440d9de647fecb8132ceb76a94dfa',
    );
    assert.equal(account.network, 'testnet');
    assert.equal(account.caip2, 'stacks:2147483648');
    assert.equal(account.privateKey, DEPLOYER_KEY);
  });

  test('the same key on mainnet and by CAIP-2 id', () => {
    const mainnet = 'SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R';
    assert.equal(privateKeyToAccount(DEPLOYER_KEY, 'mainnet').address, mainnet);
    assert.equal(privateKeyToAccount(DEPLOYER_KEY, 'stacks:1').address, mainnet);
  });

  test('a 64-hex key is an uncompressed key with its own address; 0x is accepted', () => {
    const uncompressed = privateKeyToAccount(DEPLOYER_KEY.slice(0, 64), 'testnet');
    assert.equal(uncompressed.publicKey.length, 130);
    assert.notEqual(uncompressed.address, privateKeyToAccount(DEPLOYER_KEY, 'testnet').address);
    assert.equal(
      privateKeyToAccount(`0x${DEPLOYER_KEY}`, 'testnet').address,
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
    );
  });

  test('the private key is never printed or serialized', () => {
    const account = privateKeyToAccount(DEPLOYER_KEY, 'testnet');
    assert.equal(JSON.stringify(account).includes(DEPLOYER_KEY.slice(0, 20)), false);
    assert.equal(inspect(account).includes(DEPLOYER_KEY.slice(0, 20)), false);
    assert.equal(Object.keys(account).includes('privateKey'), false);
  });

  test('error: bad keys, without the key in the message', () => {
    const secretish = 'f'.repeat(64);
    for (const bad of [
      '',
      'abc',
      DEPLOYER_KEY.slice(0, 65),
      `${DEPLOYER_KEY.slice(0, 64)}02`,
      `zz${DEPLOYER_KEY.slice(2)}`,
      '0'.repeat(64),
      secretish,
    ]) {
      assert.throws(
        () => privateKeyToAccount(bad, 'testnet'),
        (error: unknown) =>
          isBadKey(error) && (bad.length < 8 || !(error as Error).message.includes(bad)),
        bad,
      );
    }
  });

  test('error: unknown network', () => {
    assert.throws(() => privateKeyToAccount(DEPLOYER_KEY, 'devnet'), /Unknown Stacks network/);
  });
});

describe('generateKeypair', () => {
  test('returns a fresh compressed key each time', () => {
    const a = generateKeypair('testnet');
    const b = generateKeypair('mainnet');
    assert.match(a.privateKey, /^[0-9a-f]{64}01$/);
    assert.match(a.address, /^ST/);
    assert.match(b.address, /^SP/);
    assert.notEqual(a.privateKey, b.privateKey);
    assert.equal(privateKeyToAccount(a.privateKey, 'testnet').address, a.address);
  });
});

describe('mnemonicToAccount', () => {
  test("derives Clarinet's devnet deployer at index 0", () => {
    const account = mnemonicToAccount(DEPLOYER_MNEMONIC, 'testnet', 0);
    assert.equal(account.address, 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
    assert.equal(account.privateKey, DEPLOYER_KEY);
  });

  test('indexes 1 and 2 match @stacks/wallet-sdk; whitespace is forgiven', () => {
    // Reference values computed once with @stacks/wallet-sdk 7.4 (generateWallet + generateNewAccount).
    const one = mnemonicToAccount(DEPLOYER_MNEMONIC, 'testnet', 1);
    assert.equal(one.address, 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50');
    assert.equal(
      one.privateKey,
      '6a7c24ee77649c0cc314864596a6bd1addf3efb93bd63bcdb99be0843742084701',
    );
    const two = mnemonicToAccount(DEPLOYER_MNEMONIC, 'testnet', 2);
    assert.equal(two.address, 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ');
    assert.equal(
      mnemonicToAccount(`  ${DEPLOYER_MNEMONIC.replaceAll(' ', '\n ')} `, 'testnet', 1).address,
      one.address,
    );
  });

  test('mnemonicToAccounts derives the same accounts from one seed', () => {
    const [zero, one, two] = mnemonicToAccounts(DEPLOYER_MNEMONIC, 'testnet', { count: 3 });
    assert.equal(zero?.address, 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
    assert.equal(one?.address, 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50');
    assert.equal(two?.address, 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ');
    const [alsoTwo] = mnemonicToAccounts(DEPLOYER_MNEMONIC, 'testnet', { from: 2 });
    assert.equal(alsoTwo?.privateKey, two?.privateKey);
    assert.throws(
      () => mnemonicToAccounts(DEPLOYER_MNEMONIC, 'testnet', { count: 0 }),
      (error: unknown) => error instanceof InvalidMnemonicError,
    );
  });

  test('error: bad phrase, bad checksum, bad index', () => {
    const isBadMnemonic = (error: unknown) =>
      error instanceof InvalidMnemonicError && error.reason === 'invalid_mnemonic';
    assert.throws(() => mnemonicToAccount('not a phrase', 'testnet'), isBadMnemonic);
    assert.throws(
      () => mnemonicToAccount(DEPLOYER_MNEMONIC.replace('claw', 'clay'), 'testnet'),
      isBadMnemonic,
    );
    assert.throws(() => mnemonicToAccount(DEPLOYER_MNEMONIC, 'testnet', -1), isBadMnemonic);
    assert.throws(() => mnemonicToAccount(DEPLOYER_MNEMONIC, 'testnet', 2 ** 31), isBadMnemonic);
  });
});
