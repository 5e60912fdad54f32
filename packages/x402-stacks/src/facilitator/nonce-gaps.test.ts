import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nonceHeld, possibleGaps } from './nonce-gaps.js';

test('the listed gaps, once the account has a mined transaction', () => {
  const nonces = { confirmedNext: 4n, possibleNext: 8n, missing: [5n, 6n] };
  assert.deepEqual(possibleGaps(nonces), [5n, 6n]);
  assert.deepEqual(
    [3n, 4n, 5n, 6n, 7n, 8n].map((nonce) => nonceHeld(nonces, nonce)),
    [true, true, false, false, true, false],
  );
});

test('before the first mined transaction the API lists no gap: every nonce below the highest pending one may be one', () => {
  const nonces = { confirmedNext: 0n, possibleNext: 3n, missing: [] };
  assert.deepEqual(possibleGaps(nonces), [0n, 1n]);
  assert.deepEqual(
    [0n, 1n, 2n, 3n].map((nonce) => nonceHeld(nonces, nonce)),
    [false, false, true, false],
  );
  assert.deepEqual(possibleGaps({ confirmedNext: 0n, possibleNext: 1n, missing: [] }), []);
  assert.deepEqual(possibleGaps({ confirmedNext: 0n, possibleNext: 0n, missing: [] }), []);
});

test('no more possible gaps than the node lets an account chain, however far an API says the mempool reaches', () => {
  const gaps = possibleGaps({ confirmedNext: 0n, possibleNext: 1_000_000n, missing: [] });
  assert.equal(gaps.length, 25);
  assert.equal(gaps.at(-1), 24n);
});
