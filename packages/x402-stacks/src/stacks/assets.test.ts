import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePrincipal } from './address.js';
import {
  assetKey,
  isExactTransferToken,
  isSameAsset,
  KNOWN_TOKENS,
  resolveAsset,
} from './assets.js';
import { UnknownAssetError } from './errors.js';
import { STACKS_NETWORKS } from './networks.js';

const MAINNET_SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
const TESTNET_SBTC_DEPLOYER = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1';
const TESTNET_SBTC = `${TESTNET_SBTC_DEPLOYER}.sbtc-token`;
/** Hiro's older stand-in (x402-stacks 2.0.3's default) and the devnet deployer's (x402-stacks 2.1's). */
const LEGACY_TESTNET_SBTC = [
  'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token',
  'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-token',
] as const;
const isUnknownAsset = (error: unknown) =>
  error instanceof UnknownAssetError && error.reason === 'unknown_asset';

describe('resolveAsset', () => {
  test('STX in any case', () => {
    for (const spelling of ['STX', 'stx', 'Stx']) {
      assert.deepEqual(resolveAsset(spelling, 'mainnet'), {
        kind: 'stx',
        symbol: 'STX',
        decimals: 6,
      });
    }
  });

  test('sBTC resolves per network, with 8 decimals and asset name sbtc-token', () => {
    const mainnet = resolveAsset('sBTC', 'stacks:1');
    assert.equal(mainnet.kind, 'sip010');
    assert.equal(mainnet.kind === 'sip010' && mainnet.contractId, MAINNET_SBTC);
    assert.equal(mainnet.decimals, 8);
    assert.equal(assetKey(mainnet), `${MAINNET_SBTC}::sbtc-token`);
    const testnet = resolveAsset('SBTC', 'testnet');
    assert.equal(testnet.kind === 'sip010' && testnet.contractId, TESTNET_SBTC);
  });

  test('USDCx resolves with 6 decimals and asset name usdcx-token', () => {
    const usdcx = resolveAsset('USDCX', 'mainnet');
    assert.equal(assetKey(usdcx), 'SP120SBRBQJ00MCWS7TM5R8WJNTTKD5K0HFRC2CNE.usdcx::usdcx-token');
    assert.equal(usdcx.decimals, 6);
  });

  test('a known contract id picks up symbol and decimals, with or without ::asset', () => {
    for (const spelling of [MAINNET_SBTC, `${MAINNET_SBTC}::sbtc-token`]) {
      const asset = resolveAsset(spelling, 'mainnet');
      assert.equal(asset.kind === 'sip010' && asset.symbol, 'sBTC');
      assert.equal(asset.decimals, 8);
    }
  });

  test('the testnet sBTC contract id is configurable', () => {
    const custom = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.sbtc-token';
    const asset = resolveAsset('sBTC', 'testnet', { contracts: { sBTC: custom } });
    assert.equal(asset.kind === 'sip010' && asset.contractId, custom);
    const byId = resolveAsset(custom, 'testnet', { contracts: { sBTC: custom } });
    assert.equal(byId.kind === 'sip010' && byId.symbol, 'sBTC');
    assert.equal(KNOWN_TOKENS.sBTC.contracts.testnet, TESTNET_SBTC);
  });

  test("the default testnet sBTC is the signers' SN3VMHX…8F1.sbtc-token, a multi-sig contract principal", () => {
    const sbtc = resolveAsset('sBTC', 'testnet');
    assert.equal(sbtc.kind === 'sip010' && sbtc.contractId, TESTNET_SBTC);
    assert.equal(sbtc.kind === 'sip010' && sbtc.contractAddress, TESTNET_SBTC_DEPLOYER);
    assert.equal(assetKey(sbtc), `${TESTNET_SBTC}::sbtc-token`);
    assert.equal(sbtc.decimals, 8);
    assert.equal(isExactTransferToken(sbtc), true);
    // Version 21 is testnet's multi-sig version: a testnet principal, never a mainnet one.
    const deployer = parsePrincipal(TESTNET_SBTC, STACKS_NETWORKS.testnet);
    assert.equal(deployer.version, STACKS_NETWORKS.testnet.addressVersion.multiSig);
    assert.equal(deployer.contractName, 'sbtc-token');
    assert.throws(() => resolveAsset(TESTNET_SBTC, 'mainnet'), isUnknownAsset);
  });

  for (const legacy of LEGACY_TESTNET_SBTC) {
    test(`an older testnet "sBTC" (${legacy.slice(0, 8)}…) is only a SIP-010 token, unless configured as sBTC`, () => {
      // Anyone can deploy a contract named sbtc-token; naming one sBTC is the operator's call, not ours.
      const plain = resolveAsset(legacy, 'testnet');
      assert.equal(plain.kind === 'sip010' && plain.symbol, undefined);
      assert.equal(plain.decimals, undefined);
      assert.equal(isExactTransferToken(plain), false);
      assert.equal(isSameAsset('sBTC', legacy, 'testnet'), false);

      const tokens = { contracts: { sBTC: legacy } } as const;
      const configured = resolveAsset('sBTC', 'testnet', tokens);
      assert.equal(configured.kind === 'sip010' && configured.contractId, legacy);
      assert.equal(configured.kind === 'sip010' && configured.symbol, 'sBTC');
      assert.equal(isExactTransferToken(configured), true);
      assert.equal(isSameAsset('SBTC', `${legacy}::sbtc-token`, 'testnet', tokens), true);
      // The override is per network: with the same options, mainnet sBTC is untouched.
      const mainnet = resolveAsset('sBTC', 'mainnet', tokens);
      assert.equal(mainnet.kind === 'sip010' && mainnet.contractId, MAINNET_SBTC);
      assert.equal(isSameAsset('sBTC', MAINNET_SBTC, 'mainnet', tokens), true);
    });
  }

  test('any SIP-010 contract, asset name from ::suffix, option, or the contract name', () => {
    const id = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.my-token';
    assert.equal(assetKey(resolveAsset(id, 'testnet')), `${id}::my-token`);
    assert.equal(assetKey(resolveAsset(`${id}::coin`, 'testnet')), `${id}::coin`);
    assert.equal(assetKey(resolveAsset(id, 'testnet', { assetName: 'mine' })), `${id}::mine`);
    assert.equal(resolveAsset(id, 'testnet').decimals, undefined);
    assert.equal(resolveAsset(id, 'testnet', { decimals: 2 }).decimals, 2);
  });

  test('error: a mainnet contract on testnet, and the reverse', () => {
    assert.throws(() => resolveAsset(MAINNET_SBTC, 'testnet'), isUnknownAsset);
    assert.throws(() => resolveAsset(TESTNET_SBTC, 'mainnet'), isUnknownAsset);
  });

  test('error: malformed spellings', () => {
    for (const bad of [
      '',
      'DOGE',
      'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
      'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7.',
      'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7.1bad',
      `${MAINNET_SBTC}::`,
      `${MAINNET_SBTC}::a::b`,
      `${MAINNET_SBTC}::wrong-name`,
      'SPXXXX.token',
    ]) {
      assert.throws(() => resolveAsset(bad, 'mainnet'), isUnknownAsset, bad);
    }
  });
});

describe('asset identity', () => {
  test('a symbol and its contract id are the same asset', () => {
    assert.equal(isSameAsset('sBTC', MAINNET_SBTC, 'mainnet'), true);
    assert.equal(isSameAsset('sBTC', 'STX', 'mainnet'), false);
  });
  test('only sBTC and USDCx are exact-transfer tokens', () => {
    assert.equal(isExactTransferToken(resolveAsset('sBTC', 'testnet')), true);
    assert.equal(isExactTransferToken(resolveAsset('USDCx', 'testnet')), true);
    assert.equal(isExactTransferToken(resolveAsset('STX', 'testnet')), false);
    assert.equal(
      isExactTransferToken(
        resolveAsset('ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.sbtc', 'testnet'),
      ),
      false,
    );
  });
});
