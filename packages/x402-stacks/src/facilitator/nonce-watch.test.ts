import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import { ChainRequestError } from '../chain/errors.js';
import type { AccountNonces } from '../chain/types.js';
import { createNonceWatch, type NonceWaitRequest } from './nonce-watch.js';

/** A clock that moves only when the watch sleeps, and a chain whose nonce reads are counted and can be made to fail. */
function harness(maxWaiting = 10) {
  let clock = 0;
  const sleeps: number[] = [];
  const reads: string[] = [];
  let possibleNext = 0n;
  let failing = false;
  const chain = {
    async getNonces(payer: string): Promise<AccountNonces> {
      reads.push(payer);
      if (failing)
        throw new ChainRequestError('chain_unreachable', 'down', {
          method: 'GET',
          url: 'http://node/',
          status: undefined,
          attempts: 1,
          txid: undefined,
        });
      return { confirmedNext: 0n, possibleNext, missing: [] };
    },
  } as unknown as ChainClient;
  const watch = createNonceWatch({
    maxWaiting,
    maxIntervalMs: 1_000,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  });
  const waitFor = (payer: string, nonce: bigint, until = 10_000): NonceWaitRequest => ({
    chain,
    key: payer,
    payer,
    until,
    judge: (nonces) => (nonces.possibleNext >= nonce ? 'reached' : 'waiting'),
  });
  return {
    watch,
    waitFor,
    sleeps,
    reads,
    setNext: (next: bigint) => {
      possibleNext = next;
    },
    fail: () => {
      failing = true;
    },
  };
}

describe('nonce watch', () => {
  test('the waits of one payer share each round, and the rounds drift apart up to the poll interval', async () => {
    const h = harness();
    const outcomes = Promise.all([1n, 2n, 3n].map((n) => h.watch.wait(h.waitFor('SP1', n, 3_000))));
    assert.equal(h.watch.waiting, 3);
    const answers = await outcomes;
    assert.deepEqual(answers, ['timeout', 'timeout', 'timeout']);
    assert.deepEqual(h.sleeps, [100, 200, 400, 800, 1_000, 1_000]);
    assert.equal(h.reads.length, h.sleeps.length, 'one read per round for all three');
    assert.equal(h.watch.waiting, 0);
  });

  test('each wait ends on the round that reaches its nonce, and a later wait starts a new watch', async () => {
    const h = harness();
    const low = h.watch.wait(h.waitFor('SP1', 1n));
    const high = h.watch.wait(h.waitFor('SP1', 2n));
    h.setNext(1n);
    assert.equal(await low, 'reached');
    h.setNext(2n);
    assert.equal(await high, 'reached');
    const readsBefore = h.reads.length;
    assert.equal(await h.watch.wait(h.waitFor('SP1', 2n)), 'reached');
    assert.equal(h.reads.length, readsBefore + 1);
    assert.equal(h.sleeps.at(-1), 100, 'a new watch looks soon again');
  });

  test('past maxWaiting one more is busy at once, with no read; the room comes back when a wait ends', async () => {
    const h = harness(2);
    const first = h.watch.wait(h.waitFor('SP1', 1n));
    const second = h.watch.wait(h.waitFor('SP2', 1n));
    assert.equal(await h.watch.wait(h.waitFor('SP3', 1n)), 'busy');
    assert.equal(h.reads.includes('SP3'), false);
    h.setNext(1n);
    assert.deepEqual(await Promise.all([first, second]), ['reached', 'reached']);
    assert.equal(await h.watch.wait(h.waitFor('SP3', 1n)), 'reached');
  });

  test("a failed read rejects every wait of that payer with the chain's error, and frees their room", async () => {
    const h = harness(2);
    const waits = [h.watch.wait(h.waitFor('SP1', 1n)), h.watch.wait(h.waitFor('SP1', 2n))];
    h.fail();
    for (const wait of waits) await assert.rejects(wait, ChainRequestError);
    assert.equal(h.watch.waiting, 0);
  });

  test('a judge that throws rejects its own wait only', async () => {
    const h = harness();
    const broken = h.watch.wait({
      ...h.waitFor('SP1', 1n),
      judge: () => {
        throw new Error('ledger down');
      },
    });
    const fine = h.watch.wait(h.waitFor('SP1', 1n));
    await assert.rejects(broken, /ledger down/);
    h.setNext(1n);
    assert.equal(await fine, 'reached');
  });
});
