/**
 * The buyer's `batch` option names its escrows by contract principal: one deployed by an address c32 writes shorter
 * (a hash beginning with zero bits: 39 characters for about one account in 200, 29 for the boot address) is taken like
 * any other, and a malformed one is refused by name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STACKS_NETWORKS } from '../../stacks/networks.js';
import { PayerOptionsError } from '../errors.js';
import { resolveBatchOption } from './batch-option.js';

const resolve = (escrow: string) =>
  resolveBatchOption({ depositCap: { STX: 100_000n }, escrows: [escrow] }, STACKS_NETWORKS.testnet);

test('escrows deployed by addresses of every length are taken; a malformed one is refused', () => {
  for (const escrow of [
    'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
    'STP9WX9AZBNSVWFAHSW1S6DPPY43JEKT16732Z9.batch-escrow',
    'ST000000000000000000002AMW42H.batch-escrow',
  ]) {
    assert.ok(resolve(escrow), escrow);
  }
  assert.throws(() => resolve('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM'), PayerOptionsError);
  assert.throws(() => resolve('not-a-contract.batch-escrow'), PayerOptionsError);
});
