import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import { createNonceAllocator, type NonceLease } from './nonces.js';

/** A chain whose next nonce is whatever the test says. */
function chainAt(next: { value: bigint }): ChainClient {
  return { getNextNonce: async () => next.value } as unknown as ChainClient;
}

/** Whether a promise has settled by the time everything already queued has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('createNonceAllocator', () => {
  test('one at a time by default: the next payment waits for the previous one to end its turn', async () => {
    const nonces = createNonceAllocator(chainAt({ value: 4n }), 'ST1', { watchMs: 60_000 });
    const first = await nonces.acquire();
    first.watch();
    const second = nonces.acquire();
    assert.equal(await settled(second), false);
    first.used();
    assert.equal((await second).nonce, 5n);
  });

  test('chained (inFlight 3): three payments go out at once on consecutive nonces, the fourth waits for an answer', async () => {
    const nonces = createNonceAllocator(chainAt({ value: 10n }), 'ST1', { watchMs: 60_000 });
    const leases: NonceLease[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = await nonces.acquire({ inFlight: 3 });
      lease.watch(); // sent: the turn passes on at once
      leases.push(lease);
    }
    assert.deepEqual(
      leases.map((lease) => lease.nonce),
      [10n, 11n, 12n],
    );
    const fourth = nonces.acquire({ inFlight: 3 });
    assert.equal(await settled(fourth), false);
    leases[0]!.used();
    assert.equal((await fourth).nonce, 13n);
  });

  test('chained: a refused payment sends the next turn back to the chain, even after it passed its turn on', async () => {
    const chain = { value: 20n };
    const nonces = createNonceAllocator(chainAt(chain), 'ST1', { watchMs: 60_000 });
    const a = await nonces.acquire({ inFlight: 4 });
    a.watch();
    const b = await nonces.acquire({ inFlight: 4 });
    b.watch();
    a.resync(); // refused: nonce 20 may be unused, and 21 waits behind it
    chain.value = 20n;
    const c = await nonces.acquire({ inFlight: 4 });
    assert.equal(c.nonce, 20n);
    b.used();
    c.used();
  });
});
