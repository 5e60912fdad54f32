import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AMOUNT, STX as STX_INPUT, stx } from '@x402-stacks/test-kit/fixtures';
import { type PaymentRequirements, PaymentRequirementsSchema } from '../protocol/v2.js';
import { resolvePaymentTerms } from '../stacks/payment/terms.js';
import { rememberOfflineChecks } from './offline-checks.js';

const STX = PaymentRequirementsSchema.parse(STX_INPUT);
const termsOf = (requirements: PaymentRequirements) => {
  const terms = resolvePaymentTerms(requirements);
  if ('reason' in terms) throw new Error(terms.message);
  return terms;
};

test('the same payment against the same requirements is answered from memory', async () => {
  const check = rememberOfflineChecks({});
  const transaction = await stx();
  const first = check(transaction, STX, termsOf(STX));
  assert.equal(first.isValid, true);
  assert.equal(check(transaction, STX, termsOf(STX)), first);
});

test('other requirements are checked afresh, and get their own answer', async () => {
  const check = rememberOfflineChecks({});
  const transaction = await stx();
  assert.equal(check(transaction, STX, termsOf(STX)).isValid, true);
  const dearer = { ...STX, amount: (AMOUNT + 1n).toString() };
  const refused = check(transaction, dearer, termsOf(dearer));
  assert.equal(refused.isValid, false);
  assert.equal(
    refused.isValid === false && refused.invalidReason,
    'invalid_exact_stacks_payload_amount_mismatch',
  );
  // The first answer is untouched by the second.
  assert.equal(check(transaction, STX, termsOf(STX)).isValid, true);
});

test('memory is bounded: past the bound the oldest entry is checked again', async () => {
  const check = rememberOfflineChecks({}, 2);
  const [a, b, c] = await Promise.all([stx({ nonce: 1n }), stx({ nonce: 2n }), stx({ nonce: 3n })]);
  const first = check(a, STX, termsOf(STX));
  check(b, STX, termsOf(STX));
  assert.equal(check(a, STX, termsOf(STX)), first);
  check(c, STX, termsOf(STX));
  const again = check(a, STX, termsOf(STX));
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
});

test('memory is bounded in characters too: junk the size of a request body is never remembered', async () => {
  const check = rememberOfflineChecks({});
  // A 64 KiB body holds a transaction of ~60,000 hex characters: 2,048 of those would keep ~120 MiB.
  const junk = '00'.repeat(30_000);
  const first = check(junk, STX, termsOf(STX));
  assert.equal(first.isValid, false);
  assert.notEqual(check(junk, STX, termsOf(STX)), first);
});

test('memory is bounded in characters: the oldest entries leave to make room for a large one', async () => {
  const [a, b] = await Promise.all([stx({ nonce: 1n }), stx({ nonce: 2n })]);
  const key = (transaction: string) => transaction.length + 1 + JSON.stringify(STX).length;
  const check = rememberOfflineChecks({}, 100, key(a) + key(b) - 1);
  const first = check(a, STX, termsOf(STX));
  assert.equal(check(a, STX, termsOf(STX)), first);
  check(b, STX, termsOf(STX));
  assert.notEqual(check(a, STX, termsOf(STX)), first);
});
