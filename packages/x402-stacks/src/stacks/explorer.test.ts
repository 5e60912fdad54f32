import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
  test('error: unknown network', () => {
    assert.throws(() => getExplorerURL(TXID, 'base'), /Unknown Stacks network/);
  });
});
