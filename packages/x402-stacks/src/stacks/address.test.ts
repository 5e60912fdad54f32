import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addressFromHash160,
  isValidStacksAddress,
  parsePrincipal,
  parseStacksAddress,
} from './address.js';
import { InvalidAddressError } from './errors.js';
import { STACKS_NETWORKS } from './networks.js';

const isBadAddress = (error: unknown) =>
  error instanceof InvalidAddressError && error.reason === 'invalid_address';

describe('parseStacksAddress', () => {
  test('decodes version, hash160 and network', () => {
    const parsed = parseStacksAddress('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
    assert.equal(parsed.version, 26);
    assert.equal(parsed.hash160, '6d78de7b0625dfbfc16c3a8a5735f6dc3dc3f2ce');
    assert.equal(parsed.network.name, 'testnet');
    assert.equal(parsed.multiSig, false);
    assert.equal(parseStacksAddress('SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4').multiSig, true);
  });
  test('error: wrong network, checksum, case, garbage', () => {
    assert.throws(
      () =>
        parseStacksAddress('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM', STACKS_NETWORKS.mainnet),
      isBadAddress,
    );
    for (const bad of [
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGN',
      'st1pqhqkv0rjxzfy1dgx8mnsnyve3vgzjsrtpgzgm',
      'SP',
      '',
      'hello world',
    ]) {
      assert.throws(() => parseStacksAddress(bad), isBadAddress, bad);
    }
    assert.equal(
      isValidStacksAddress('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM', STACKS_NETWORKS.testnet),
      true,
    );
    assert.equal(isValidStacksAddress(42), false);
  });
  test('encoding is the inverse of decoding', () => {
    assert.equal(
      addressFromHash160(26, '6d78de7b0625dfbfc16c3a8a5735f6dc3dc3f2ce'),
      'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
    );
  });
});

describe('parsePrincipal', () => {
  test('standard and contract principals', () => {
    assert.equal(
      parsePrincipal('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM').contractName,
      undefined,
    );
    const contract = parsePrincipal('SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token');
    assert.equal(contract.contractName, 'sbtc-token');
    assert.equal(contract.address, 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4');
    assert.equal(contract.principal, 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token');
  });
  test('error: invalid contract names', () => {
    for (const name of ['', '1abc', 'a b', 'x'.repeat(41), 'a.b']) {
      assert.throws(
        () => parsePrincipal(`SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.${name}`),
        isBadAddress,
        name,
      );
    }
  });
});
