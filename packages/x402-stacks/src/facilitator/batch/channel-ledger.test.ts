/** mirrorAge: the age a mirror of the escrow gives a channel, kept unless the chain claimed more or there is no record. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mirrorAge } from './channel-ledger.js';

const state = (claimed: bigint) => ({
  balance: 100n,
  claimed,
  refundNonce: 0n,
  withdrawRequestedAt: 0,
});

test('a mirror keeps the record age, unless the chain claimed more than it knew, or there is no record', () => {
  const record = { updatedAt: 1_000, claimed: 10n };
  assert.equal(mirrorAge(record, state(10n), 5_000), 1_000);
  // A claim the record missed was mined: what is still owed was charged after it, and ages from now.
  assert.equal(mirrorAge(record, state(11n), 5_000), 5_000);
  assert.equal(mirrorAge(undefined, state(0n), 5_000), 5_000);
  // A channel read from the chain, not the ledger, has no age to keep.
  assert.equal(mirrorAge({ claimed: 10n }, state(10n), 5_000), 5_000);
});
