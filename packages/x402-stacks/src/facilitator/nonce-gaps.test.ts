import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nonceHolding, possibleGaps } from './nonce-gaps.js';

const holdings = (nonces: Parameters<typeof nonceHolding>[0], upTo: number) =>
  Array.from({ length: upTo + 1 }, (_, nonce) => nonceHolding(nonces, BigInt(nonce)));

test('the listed gaps, once the account has a mined transaction', () => {
  const nonces = { confirmedNext: 4n, possibleNext: 8n, missing: [5n, 6n] };
  assert.deepEqual(possibleGaps(nonces), [5n, 6n]);
  assert.deepEqual(holdings(nonces, 8).slice(3), ['held', 'held', 'free', 'free', 'held', 'free']);
  assert.deepEqual(possibleGaps({ confirmedNext: 4n, possibleNext: 8n, missing: [] }), []);
});

test('before the first mined transaction the API lists no gap: every nonce below the highest pending one may be one', () => {
  const nonces = { confirmedNext: 0n, possibleNext: 3n, missing: [] };
  assert.deepEqual(possibleGaps(nonces), [0n, 1n]);
  assert.deepEqual(holdings(nonces, 3), ['unknown', 'unknown', 'held', 'free']);
  assert.deepEqual(possibleGaps({ confirmedNext: 0n, possibleNext: 1n, missing: [] }), []);
  assert.deepEqual(holdings({ confirmedNext: 0n, possibleNext: 1n, missing: [] }, 1), [
    'held',
    'free',
  ]);
  assert.deepEqual(possibleGaps({ confirmedNext: 0n, possibleNext: 0n, missing: [] }), []);
});

test('an API that lists the gaps of an account with nothing mined is taken at its word', () => {
  const nonces = { confirmedNext: 0n, possibleNext: 4n, missing: [1n] };
  assert.deepEqual(possibleGaps(nonces), [1n]);
  assert.deepEqual(holdings(nonces, 4), ['held', 'free', 'held', 'held', 'free']);
});

test('no more possible gaps than the node lets an account chain, however far an API says the mempool reaches', () => {
  const nonces = { confirmedNext: 0n, possibleNext: 1_000_000n, missing: [] };
  const gaps = possibleGaps(nonces);
  assert.equal(gaps.length, 25);
  assert.equal(gaps.at(-1), 24n);
  assert.equal(nonceHolding(nonces, 500n), 'unknown', 'past the cap still not known to be held');
});
