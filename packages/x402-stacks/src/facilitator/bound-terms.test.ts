/** What a settlement is bound to: the resource a settle request names, kept only when whole. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceOf, sameResource } from './bound-terms.js';
import { MAX_RESOURCE_LENGTH, type SettlementRecord } from './ledger.js';

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

test('a resource longer than the ledger keeps is left out, not cut: the settlement is bound to nothing', () => {
  const long = `https://a.test/${'x'.repeat(MAX_RESOURCE_LENGTH)}`;
  assert.equal(resourceOf(payloadFor({ url: long })), undefined);
  const longest = `https://a.test/${'x'.repeat(MAX_RESOURCE_LENGTH - 'https://a.test/'.length)}`;
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
