import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import type { AccountNonces } from '../chain/types.js';
import { createContext } from './context.js';
import { createSponsorPool, type SponsoredNonces } from './sponsor-pool.js';

const PAYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
const SPONSOR = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const refused: SponsoredNonces = { payer: PAYER, nonce: 3n, sponsor: SPONSOR, sponsorNonce: 5n };
const conflict = { accepted: false as const, reason: 'ConflictingNonceInMempool' };

/** A chain that answers `/nonces` from `nonces` (a missing entry fails the read), and counts the reads. */
function chainWith(nonces: Record<string, AccountNonces | undefined>) {
  const reads: string[] = [];
  const chain = {
    async getNonces(principal: string) {
      reads.push(principal);
      const found = nonces[principal];
      if (!found) throw new Error('unreachable');
      return found;
    },
  } as unknown as ChainClient;
  return { chain, reads };
}

const pool = createSponsorPool(createContext({ networks: { testnet: {} } }));
const free = (next: bigint): AccountNonces => ({
  confirmedNext: next,
  possibleNext: next,
  missing: [],
});

test("a nonce refusal the node explains is judged without a read: the sponsor's stale nonce, its nonce too far ahead, the payer's", async () => {
  const { chain, reads } = chainWith({});
  const bad = (principal: string, isOrigin: boolean, reason = 'BadNonce') => ({
    accepted: false as const,
    reason,
    reasonData: { principal, is_origin: isOrigin },
  });
  assert.deepEqual(await pool.judgeRefusal(bad(SPONSOR, false), refused, chain), {
    sponsorsNonce: true,
    nonceFree: false,
  });
  assert.deepEqual(
    await pool.judgeRefusal(bad(SPONSOR, false, 'TooMuchChaining'), refused, chain),
    { sponsorsNonce: true, nonceFree: true },
  );
  assert.deepEqual(await pool.judgeRefusal(bad(PAYER, true), refused, chain), {
    sponsorsNonce: false,
    nonceFree: true,
  });
  assert.equal(pool.judgeRefusalOffline(conflict, SPONSOR), undefined, 'a conflict needs a read');
  assert.deepEqual(reads, []);
});

test("a conflict in the mempool blames the payer only when its own nonce is taken, and the sponsor's nonce is reused only while free", async () => {
  const cases: [string, Record<string, AccountNonces | undefined>, boolean, boolean][] = [
    [
      "the sponsor's nonce pending",
      { [PAYER]: free(3n), [SPONSOR]: { ...free(5n), possibleNext: 6n } },
      true,
      false,
    ],
    [
      "the sponsor's nonce mined before the read",
      { [PAYER]: free(3n), [SPONSOR]: free(6n) },
      true,
      false,
    ],
    [
      "the payer's nonce pending, the sponsor's free",
      { [PAYER]: { ...free(3n), possibleNext: 4n }, [SPONSOR]: free(5n) },
      false,
      true,
    ],
    [
      'both pending',
      { [PAYER]: { ...free(3n), possibleNext: 4n }, [SPONSOR]: { ...free(5n), possibleNext: 6n } },
      true,
      false,
    ],
    ['the conflict gone by the read', { [PAYER]: free(3n), [SPONSOR]: free(5n) }, true, true],
    [
      "the sponsor's nonce listed missing",
      { [PAYER]: free(3n), [SPONSOR]: { confirmedNext: 4n, possibleNext: 7n, missing: [5n] } },
      true,
      true,
    ],
    ['both reads failed', {}, true, true],
    [
      "the sponsor's nonce the highest pending of a key with nothing mined",
      { [PAYER]: free(3n), [SPONSOR]: { confirmedNext: 0n, possibleNext: 6n, missing: [] } },
      true,
      false,
    ],
    [
      "the sponsor's nonce below the highest pending of a key with nothing mined (held or a gap: the API lists none then)",
      { [PAYER]: free(3n), [SPONSOR]: { confirmedNext: 0n, possibleNext: 7n, missing: [] } },
      true,
      false,
    ],
    [
      "the sponsor's nonce listed missing on a key with nothing mined, by an API that lists such gaps",
      { [PAYER]: free(3n), [SPONSOR]: { confirmedNext: 0n, possibleNext: 7n, missing: [5n] } },
      true,
      true,
    ],
    [
      "the payer's nonce below the highest pending of a payer with nothing mined",
      { [PAYER]: { confirmedNext: 0n, possibleNext: 5n, missing: [] }, [SPONSOR]: free(5n) },
      true,
      true,
    ],
    [
      "the payer's nonce the highest pending of a payer with nothing mined",
      { [PAYER]: { confirmedNext: 0n, possibleNext: 4n, missing: [] }, [SPONSOR]: free(5n) },
      false,
      true,
    ],
    [
      "the payer's nonce pending, the sponsor's below the highest pending of a key with nothing mined",
      {
        [PAYER]: { ...free(3n), possibleNext: 4n },
        [SPONSOR]: { confirmedNext: 0n, possibleNext: 7n, missing: [] },
      },
      false,
      false,
    ],
    [
      "the payer's nonce pending, the sponsor's read failed",
      { [PAYER]: { ...free(3n), possibleNext: 4n } },
      false,
      true,
    ],
  ];
  for (const [name, nonces, sponsorsNonce, nonceFree] of cases) {
    const { chain, reads } = chainWith(nonces);
    assert.deepEqual(
      await pool.judgeRefusal(conflict, refused, chain),
      { sponsorsNonce, nonceFree },
      name,
    );
    assert.deepEqual(reads.sort(), [PAYER, SPONSOR].sort(), `${name}: both read`);
  }
});
