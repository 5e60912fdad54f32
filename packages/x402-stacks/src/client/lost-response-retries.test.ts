/**
 * `lostResponseRetries`: how many times a wrapper resends the same payment when its response is lost. Bounded, so a
 * buyer cannot be configured into a loop that keeps a seller serving one payment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKeypair } from '../stacks/accounts.js';
import { PayerOptionsError } from './errors.js';
import { createPayer } from './payer.js';

describe('lostResponseRetries', () => {
  const account = generateKeypair('testnet');

  test('0 to 5 are accepted, 1 by default', () => {
    for (const lostResponseRetries of [undefined, 0, 1, 5]) {
      assert.ok(createPayer(account, { lostResponseRetries }));
    }
  });

  test('anything else is refused when the payer is created: invalid_payer_options', () => {
    for (const lostResponseRetries of [-1, 6, 1.5, Number.NaN, '1' as unknown as number]) {
      assert.throws(
        () => createPayer(account, { lostResponseRetries }),
        (error) =>
          error instanceof PayerOptionsError &&
          error.reason === 'invalid_payer_options' &&
          /lostResponseRetries/.test(error.message),
        String(lostResponseRetries),
      );
    }
  });
});
