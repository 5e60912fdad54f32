import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import { createNonceAllocator, type NonceLease } from './nonces.js';

/** A chain whose next nonce is whatever the test says. */
function chainAt(next: { value: bigint }): ChainClient {
  return { getNextNonce: async () => next.value } as unknown as ChainClient;
}

/** A chain whose mempool and confirmed next nonces are whatever the test says. */
function chainWith(nonces: { possibleNext: bigint; confirmedNext: bigint }): ChainClient {
  return {
    getNextNonce: async () => nonces.possibleNext,
    getNonces: async () => ({ ...nonces, missing: [] }),
  } as unknown as ChainClient;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

  for (const answered of [false, true]) {
    test(`confirmed: the turn passes on once the chain confirms the nonce, not when the mempool has it (${answered ? 'a pending answer' : 'no answer yet'})`, async () => {
      const chain = { possibleNext: 7n, confirmedNext: 7n };
      const nonces = createNonceAllocator(chainWith(chain), 'ST1', { watchMs: 5 });
      const first = await nonces.acquire({ confirmed: true });
      first.watch();
      const second = nonces.acquire({ confirmed: true });
      chain.possibleNext = 8n; // in the mempool
      if (answered) first.pending();
      await pause(60);
      assert.equal(await settled(second), false, 'still pending: the next payment waits here');
      chain.confirmedNext = 8n;
      assert.equal((await second).nonce, 8n);
    });
  }

  test('without confirmed, a pending answer passes the turn on at once', async () => {
    const nonces = createNonceAllocator(chainWith({ possibleNext: 5n, confirmedNext: 4n }), 'ST2', {
      watchMs: 60_000,
    });
    const first = await nonces.acquire();
    first.watch();
    const second = nonces.acquire();
    first.pending();
    assert.equal((await second).nonce, 6n);
  });

  test('confirmed: a settled answer passes the turn on at once, and the lease still bounds a turn never confirmed', async () => {
    const chain = { possibleNext: 0n, confirmedNext: 0n };
    const nonces = createNonceAllocator(chainWith(chain), 'ST1', { watchMs: 60_000, leaseMs: 80 });
    const first = await nonces.acquire({ confirmed: true });
    first.watch();
    const second = nonces.acquire({ confirmed: true });
    first.used();
    const next = await second;
    assert.equal(next.nonce, 1n);
    next.watch();
    next.pending(); // never confirmed (dropped): the lease ends the turn, and the chain decides
    chain.possibleNext = 1n;
    assert.equal((await nonces.acquire({ confirmed: true })).nonce, 1n);
  });
});
