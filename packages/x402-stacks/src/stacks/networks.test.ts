import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnknownNetworkError } from './errors.js';
import {
  isStacksNetwork,
  networkFromCAIP2,
  networkOfAddressVersion,
  networkToCAIP2,
  resolveNetwork,
  STACKS_NETWORKS,
} from './networks.js';

const isUnknownNetwork = (error: unknown) =>
  error instanceof UnknownNetworkError && error.reason === 'unknown_network';

describe('resolveNetwork', () => {
  test('names and CAIP-2 ids resolve to the same data', () => {
    assert.equal(resolveNetwork('mainnet'), STACKS_NETWORKS.mainnet);
    assert.equal(resolveNetwork('stacks:1'), STACKS_NETWORKS.mainnet);
    assert.equal(resolveNetwork('testnet'), STACKS_NETWORKS.testnet);
    assert.equal(resolveNetwork('stacks:2147483648'), STACKS_NETWORKS.testnet);
    assert.equal(resolveNetwork(STACKS_NETWORKS.testnet), STACKS_NETWORKS.testnet);
  });

  test('chain ids, versions and address versions are the node’s', () => {
    assert.deepEqual(
      [STACKS_NETWORKS.mainnet.chainId, STACKS_NETWORKS.mainnet.transactionVersion],
      [1, 0],
    );
    assert.deepEqual(
      [STACKS_NETWORKS.testnet.chainId, STACKS_NETWORKS.testnet.transactionVersion],
      [2147483648, 128],
    );
    assert.deepEqual(STACKS_NETWORKS.mainnet.addressVersion, { singleSig: 22, multiSig: 20 });
    assert.deepEqual(STACKS_NETWORKS.testnet.addressVersion, { singleSig: 26, multiSig: 21 });
  });

  test('legacy "stacks" resolves by the payTo prefix', () => {
    assert.equal(
      resolveNetwork('stacks', { payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7' }).name,
      'mainnet',
    );
    assert.equal(
      resolveNetwork('stacks', { payTo: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4' }).name,
      'mainnet',
    );
    assert.equal(
      resolveNetwork('stacks', { payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' }).name,
      'testnet',
    );
    assert.equal(
      resolveNetwork('stacks', { payTo: 'SN2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKP6D2ZK9' }).name,
      'testnet',
    );
  });

  test('error: legacy "stacks" without a payTo says what is missing', () => {
    assert.throws(
      () => resolveNetwork('stacks'),
      (error: unknown) => isUnknownNetwork(error) && /payTo/.test((error as Error).message),
    );
  });

  test('the API URL is overridable without touching the shared data', () => {
    const local = resolveNetwork('testnet', { apiUrl: 'http://127.0.0.1:3999/' });
    assert.equal(local.apiUrl, 'http://127.0.0.1:3999');
    assert.equal(local.chainId, STACKS_NETWORKS.testnet.chainId);
    assert.equal(STACKS_NETWORKS.testnet.apiUrl, 'https://api.testnet.hiro.so');
    assert.equal(
      resolveNetwork(local).apiUrl,
      'http://127.0.0.1:3999',
      'a network object keeps its URL',
    );
    assert.equal(resolveNetwork(local, { apiUrl: 'http://x' }).apiUrl, 'http://x');
  });

  test('error: anything else', () => {
    for (const bad of [
      'base-sepolia',
      'eip155:8453',
      'stacks:2',
      'Mainnet',
      '',
      'devnet',
      undefined,
      1,
    ]) {
      assert.throws(() => resolveNetwork(bad as string), isUnknownNetwork, String(bad));
    }
  });
});

describe('conversions', () => {
  test('both ways', () => {
    assert.equal(networkToCAIP2('mainnet'), 'stacks:1');
    assert.equal(networkToCAIP2('testnet'), 'stacks:2147483648');
    assert.equal(networkFromCAIP2('stacks:1'), 'mainnet');
    assert.equal(networkFromCAIP2('stacks:2147483648'), 'testnet');
  });
  test('isStacksNetwork never throws', () => {
    assert.equal(isStacksNetwork('stacks:1'), true);
    assert.equal(isStacksNetwork('eip155:1'), false);
    assert.equal(isStacksNetwork(null), false);
  });
  test('address versions map to their network', () => {
    assert.equal(networkOfAddressVersion(22)?.name, 'mainnet');
    assert.equal(networkOfAddressVersion(20)?.name, 'mainnet');
    assert.equal(networkOfAddressVersion(26)?.name, 'testnet');
    assert.equal(networkOfAddressVersion(21)?.name, 'testnet');
    assert.equal(networkOfAddressVersion(0), undefined);
  });
});
