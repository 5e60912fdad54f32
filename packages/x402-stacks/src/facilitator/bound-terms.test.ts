/** What a settlement is bound to: the resource a settle request names, kept only when whole. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundResource, MAX_BOUND_RESOURCE_LENGTH } from '../stacks/payment/bound-resource.js';
import { resourceOf, sameResource } from './bound-terms.js';
import type { SettlementRecord } from './ledger.js';

const requirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
  maxTimeoutSeconds: 300,
};
const payloadFor = (resource?: unknown) => ({
  x402Version: 2,
  ...(resource === undefined ? {} : { resource }),
  accepted: requirements,
  payload: { transaction: '00' },
});
const record = (resource?: string) =>
  ({
    paymentTxid: 'ab'.repeat(32),
    ...(resource === undefined ? {} : { resource }),
  }) as SettlementRecord;

test('the resource of a settle request is its payload’s resource.url; none, null or malformed is none', () => {
  assert.equal(resourceOf(payloadFor({ url: 'https://a.test/x' })), 'https://a.test/x');
  assert.equal(resourceOf(payloadFor()), undefined);
  assert.equal(resourceOf(payloadFor(null)), undefined);
  assert.equal(resourceOf(payloadFor({ url: '' })), undefined);
  assert.equal(resourceOf({ not: 'a payload' }), undefined);
});

test('a resource longer than 2,048 characters is kept by its digest, never cut: each long route stays its own', () => {
  const prefix = 'https://a.test/';
  const long = `${prefix}${'x'.repeat(MAX_BOUND_RESOURCE_LENGTH)}`;
  const kept = resourceOf(payloadFor({ url: long }));
  assert.match(kept ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(kept, boundResource(long));
  // Two long routes that share their first 2,048 characters are still told apart.
  assert.notEqual(
    resourceOf(payloadFor({ url: `${long}a` })),
    resourceOf(payloadFor({ url: `${long}b` })),
  );
  const longest = `${prefix}${'x'.repeat(MAX_BOUND_RESOURCE_LENGTH - prefix.length)}`;
  assert.equal(resourceOf(payloadFor({ url: longest })), longest);
});

test('a retry matches only the resource recorded; a settlement recorded without one matches nothing', () => {
  assert.equal(
    sameResource(record('https://a.test/a'), payloadFor({ url: 'https://a.test/a' })),
    true,
  );
  assert.equal(
    sameResource(record('https://a.test/a'), payloadFor({ url: 'https://a.test/b' })),
    false,
  );
  assert.equal(sameResource(record('https://a.test/a'), payloadFor()), false);
  assert.equal(sameResource(record(), payloadFor()), false);
  assert.equal(sameResource(record(), payloadFor({ url: 'https://a.test/a' })), false);
});
