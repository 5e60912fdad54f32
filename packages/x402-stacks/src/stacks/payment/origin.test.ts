import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  account,
  PAY_TO_MAINNET,
  PAYER,
  PAYER_KEY,
  requirements,
  SBTC_REQ,
  STX,
  STX_SPONSORED,
} from '@x402-stacks/test-kit/fixtures';
import { privateKeyToAccount } from '../accounts.js';
import { fromHex } from '../bytes.js';
import { checkPaymentTransaction } from './check.js';
import { createPaymentTransaction } from './create.js';
import { readTransactionOrigin } from './origin.js';

test('readTransactionOrigin reads the payer and nonce that the full check reads', async () => {
  const mainnet = requirements('STX', { network: 'stacks:1', payTo: PAY_TO_MAINNET });
  const cases = [
    { requirements: STX, account, nonce: 7n },
    { requirements: STX_SPONSORED, account, nonce: 2n ** 40n + 3n },
    { requirements: SBTC_REQ, account, nonce: 0n },
    { requirements: mainnet, account: privateKeyToAccount(PAYER_KEY, 'mainnet'), nonce: 1n },
  ];
  for (const { requirements: entry, account: payer, nonce } of cases) {
    const { transaction } = await createPaymentTransaction({
      account: payer,
      requirements: entry,
      nonce,
      ...(entry.extra?.sponsor ? {} : { fee: 400n }),
    });
    const check = checkPaymentTransaction(transaction, entry);
    assert.ok(check.isValid, check.isValid ? '' : check.invalidMessage);
    assert.deepEqual(readTransactionOrigin(fromHex(transaction)), {
      payer: check.payer,
      nonce: check.nonce,
    });
  }
  assert.equal(readTransactionOrigin(fromHex('80800000000400')), undefined, 'too short');
  assert.equal(PAYER, account.address);
});
