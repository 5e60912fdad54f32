import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidTransactionIdError } from './errors.js';
import { getExplorerURL } from './explorer.js';

const TXID = '617c3646f7a6522fe9ff579489445af07c2c1a90f75c94d896c5e4a4a13ce12d';

describe('getExplorerURL', () => {
  test('links the Hiro explorer with ?chain=, with or without 0x', () => {
    const expected = `https://explorer.hiro.so/txid/0x${TXID}?chain=testnet`;
    assert.equal(getExplorerURL(TXID, 'testnet'), expected);
    assert.equal(getExplorerURL(`0x${TXID}`, 'testnet'), expected);
    assert.equal(getExplorerURL(TXID, 'stacks:2147483648'), expected);
  });
  test('mainnet by name or CAIP-2', () => {
    assert.equal(
      getExplorerURL(TXID, 'stacks:1'),
      `https://explorer.hiro.so/txid/0x${TXID}?chain=mainnet`,
    );
  });
  test("a local node as the explorer's API, without its credentials", () => {
    assert.equal(
      getExplorerURL(TXID, 'testnet', { apiUrl: 'http://user:secret@127.0.0.1:3999/' }),
      `https://explorer.hiro.so/txid/0x${TXID}?chain=testnet&api=http%3A%2F%2F127.0.0.1%3A3999`,
    );
  });
  test('error: not a transaction id', () => {
    for (const bad of [
      undefined,
      '',
      'xyz',
      TXID.slice(1),
      `${TXID}00`,
      `0x${TXID.replace('6', 'g')}`,
    ]) {
      assert.throws(
        () => getExplorerURL(bad as string, 'testnet'),
        (error: unknown) =>
          error instanceof InvalidTransactionIdError && error.reason === 'invalid_transaction_id',
        String(bad),
      );
    }
  });
  test('error: unknown network', () => {
    assert.throws(() => getExplorerURL(TXID, 'base'), /Unknown Stacks network/);
  });
});
