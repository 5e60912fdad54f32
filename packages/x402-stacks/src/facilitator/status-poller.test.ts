import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MinedBlock } from '../chain/block-feed.js';
import type { ChainClient } from '../chain/client.js';
import type { ChainTransaction } from '../chain/types.js';
import { createStatusPoller } from './status-poller.js';

const INTERVAL = 50;

/**
 * A clock that moves only when the test says, sleeps that end when it passes their time, and a chain whose status
 * reads are recorded with the time each began (a read can be made to take time on that clock).
 */
function harness() {
  let clock = 0;
  const timers: { at: number; resolve: () => void }[] = [];
  const reads: { at: number; txids: readonly string[] }[] = [];
  let readTakesMs = 0;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      timers.push({ at: clock + ms, resolve });
    });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  /** Moves the clock to `to`, waking each sleep that ends on the way, in order. */
  async function advanceTo(to: number) {
    for (;;) {
      await settle();
      timers.sort((x, y) => x.at - y.at);
      const next = timers[0];
      if (next === undefined || next.at > to) break;
      timers.shift();
      clock = Math.max(clock, next.at);
      next.resolve();
    }
    clock = Math.max(clock, to);
    await settle();
  }
  const mined = (txid: string): ChainTransaction =>
    ({ txid, indexed: true, status: 'success' }) as unknown as ChainTransaction;
  async function read(txids: readonly string[]) {
    reads.push({ at: clock, txids });
    if (readTakesMs > 0) await sleep(readTakesMs);
  }
  // A lone transaction is read on its own, several in one batched read: both are recorded as one read.
  const chain = {
    async getTransaction(txid: string) {
      await read([txid]);
      return mined(txid);
    },
    async getTransactions(txids: readonly string[]) {
      await read(txids);
      return new Map(txids.map((txid) => [txid.slice(2), mined(txid)]));
    },
  } as unknown as ChainClient;
  const poller = createStatusPoller(INTERVAL, sleep, () => clock);
  // The same chain with pushed blocks: `push` hands a block's txids (bare) to whoever watches.
  const watchers = new Set<(block: MinedBlock) => void>();
  let watchCalls = 0;
  const pushing = {
    ...chain,
    getTransaction: chain.getTransaction,
    getTransactions: chain.getTransactions,
    watchBlocks(listener: (block: MinedBlock) => void) {
      watchCalls++;
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  } as unknown as ChainClient;
  return {
    poller,
    chain,
    pushing,
    push(...txids: string[]) {
      const block = { height: 1, hash: '0x', txids: txids.map((id) => id.slice(2)) };
      for (const watcher of watchers) watcher(block);
    },
    get watchers() {
      return watchers.size;
    },
    get watchCalls() {
      return watchCalls;
    },
    reads,
    advanceTo,
    readTakes(ms: number) {
      readTakesMs = ms;
    },
    /** Steps the clock back (a wall clock set back), leaving every sleep's end where it was. */
    stepBackTo(to: number) {
      clock = to;
    },
  };
}

const txid = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

describe('status poller', () => {
  test('a first waiter waits one whole interval, and every waiter of a tick shares one read', async () => {
    const { poller, chain, reads, advanceTo } = harness();
    const first = poller.next(chain, txid(1));
    await advanceTo(20);
    const second = poller.next(chain, txid(2));
    assert.equal(poller.waiting, 2);
    await advanceTo(49);
    assert.equal(reads.length, 0, 'no read before the interval');
    await advanceTo(50);
    assert.deepEqual(reads, [{ at: 50, txids: [txid(1), txid(2)] }]);
    assert.equal((await first)?.status, 'success');
    assert.equal((await second)?.status, 'success');
    assert.equal(poller.waiting, 0);
  });

  test('after an idle spell, a waiter is read at the next tick of the same grid, never sooner than an interval after the last read', async () => {
    const { poller, chain, reads, advanceTo } = harness();
    const looks = [poller.next(chain, txid(1))];
    await advanceTo(50);
    // Idle from 50: a waiter at 130 is read at 150, not a whole interval later (180).
    await advanceTo(130);
    looks.push(poller.next(chain, txid(2)));
    await advanceTo(149);
    assert.equal(reads.length, 1);
    await advanceTo(150);
    // One arriving just after a read: the next tick, a whole interval on (200), not at once.
    await advanceTo(151);
    looks.push(poller.next(chain, txid(3)));
    await advanceTo(199);
    assert.equal(reads.length, 2);
    await advanceTo(200);
    // Long idle: 1,000 is on the grid (50 + 19 × 50), and a waiter arriving then is read at once.
    await advanceTo(1_000);
    looks.push(poller.next(chain, txid(4)));
    await advanceTo(1_000);
    assert.deepEqual(
      reads.map((read) => [read.at, read.txids]),
      [
        [50, [txid(1)]],
        [150, [txid(2)]],
        [200, [txid(3)]],
        [1_000, [txid(4)]],
      ],
    );
    for (const look of looks) assert.equal((await look)?.status, 'success');
  });

  test('a read that outlasts the interval is followed at once', async () => {
    const { poller, chain, reads, advanceTo, readTakes } = harness();
    readTakes(70);
    const first = poller.next(chain, txid(1));
    await advanceTo(60);
    const duringSlow = poller.next(chain, txid(2));
    await advanceTo(120);
    readTakes(10);
    await advanceTo(125);
    const duringQuick = poller.next(chain, txid(3));
    await advanceTo(400);
    // 50 (ends 120), 120 at once (ends 190: its own 70 ms, set before it began), 190 at once, then nothing waits.
    assert.deepEqual(
      reads.map((read) => [read.at, read.txids]),
      [
        [50, [txid(1)]],
        [120, [txid(2)]],
        [190, [txid(3)]],
      ],
    );
    for (const look of [first, duringSlow, duringQuick])
      assert.equal((await look)?.status, 'success');
  });

  test('a waiter that arrives during a quick read is read one interval after that read began', async () => {
    const { poller, chain, reads, advanceTo, readTakes } = harness();
    readTakes(10);
    const first = poller.next(chain, txid(1));
    await advanceTo(55);
    const during = poller.next(chain, txid(2));
    await advanceTo(99);
    assert.equal(reads.length, 1);
    await advanceTo(100);
    assert.deepEqual(
      reads.map((read) => read.at),
      [50, 100],
    );
    await advanceTo(200);
    assert.equal((await first)?.status, 'success');
    assert.equal((await during)?.status, 'success');
  });

  test('a waiting transaction in a pushed block is read at once, alone, and the tick stays on its grid', async () => {
    const h = harness();
    const { poller, pushing, reads, advanceTo } = h;
    const mined = poller.next(pushing, txid(1));
    const other = poller.next(pushing, txid(2));
    assert.equal(h.watchers, 1, 'the chain is watched from its first wait');
    await advanceTo(10);
    // Blocks heard in one turn share one read; a txid nobody waits for is not read.
    h.push(txid(1), txid(9));
    await advanceTo(10);
    assert.deepEqual(reads, [{ at: 10, txids: [txid(1)] }]);
    assert.equal((await mined)?.status, 'success');
    assert.equal(poller.waiting, 1);
    await advanceTo(49);
    assert.equal(reads.length, 1, 'the others wait for the tick');
    await advanceTo(50);
    assert.deepEqual(reads.at(-1), { at: 50, txids: [txid(2)] });
    assert.equal((await other)?.status, 'success');
    assert.equal(h.watchCalls, 1, 'one watch for the life of the poller');
  });

  test('a block pushed before the first wait reads that wait at once, but once only', async () => {
    const h = harness();
    const { poller, pushing, reads, advanceTo } = h;
    const first = poller.next(pushing, txid(1));
    await advanceTo(50);
    await first;
    await advanceTo(60);
    h.push(txid(2));
    await advanceTo(70);
    const early = poller.next(pushing, txid(2));
    await advanceTo(70);
    assert.deepEqual(reads.at(-1), { at: 70, txids: [txid(2)] });
    assert.equal((await early)?.status, 'success');
    // Asked again (as after a read that found it pending): the tick, one interval after the last tick's read.
    const again = poller.next(pushing, txid(2));
    await advanceTo(99);
    assert.equal(reads.length, 2);
    await advanceTo(100);
    assert.deepEqual(reads.at(-1), { at: 100, txids: [txid(2)] });
    assert.equal((await again)?.status, 'success');
  });

  test('a push during a read is read right after it; a client whose watch throws is read at the ticks', async () => {
    const h = harness();
    const { poller, pushing, reads, advanceTo, readTakes } = h;
    readTakes(10);
    const first = poller.next(pushing, txid(1));
    await advanceTo(50);
    const second = poller.next(pushing, txid(2));
    h.push(txid(2));
    await advanceTo(60);
    assert.deepEqual(
      reads.map((read) => [read.at, read.txids]),
      [
        [50, [txid(1)]],
        [60, [txid(2)]],
      ],
    );
    await advanceTo(80);
    await Promise.all([first, second]);
    readTakes(0);

    const throwing = {
      ...h.chain,
      getTransactions: h.chain.getTransactions,
      watchBlocks() {
        throw new Error('no channel');
      },
    } as unknown as ChainClient;
    const look = poller.next(throwing, txid(3));
    await advanceTo(100);
    assert.deepEqual(reads.at(-1), { at: 100, txids: [txid(3)] });
    assert.equal((await look)?.status, 'success');
  });

  test("reads of pushed blocks back to back never keep the tick's read waiting", async () => {
    const h = harness();
    const { poller, pushing, reads, advanceTo, readTakes } = h;
    readTakes(10);
    const other = poller.next(pushing, txid(100));
    const looks: Promise<unknown>[] = [];
    // A block every 10 ms, each read taking 10 ms: there is always a pushed transaction due when a read ends.
    for (let n = 1; n <= 9; n++) {
      looks.push(poller.next(pushing, txid(n)));
      h.push(txid(n));
      await advanceTo(n * 10 - 5);
    }
    await advanceTo(200);
    const tickRead = reads.find((read) => read.txids.includes(txid(100)));
    assert.ok(tickRead && tickRead.at <= 60, JSON.stringify(reads));
    assert.equal((await other)?.status, 'success');
    await Promise.all(looks);
  });

  test('a chain watched before its first wait hears the blocks mined before it', async () => {
    const h = harness();
    const { poller, pushing, reads, advanceTo } = h;
    poller.watch(pushing);
    poller.watch(pushing);
    assert.equal(h.watchCalls, 1);
    h.push(txid(1));
    await advanceTo(5);
    assert.equal(reads.length, 0, 'nothing waits: nothing is read');
    const look = poller.next(pushing, txid(1));
    await advanceTo(5);
    assert.deepEqual(reads, [{ at: 5, txids: [txid(1)] }]);
    assert.equal((await look)?.status, 'success');
  });

  test('close stops watching, and a closed poller reads at the ticks alone', async () => {
    const h = harness();
    const { poller, pushing, reads, advanceTo } = h;
    const first = poller.next(pushing, txid(1));
    assert.equal(h.watchers, 1);
    poller.close();
    assert.equal(h.watchers, 0);
    h.push(txid(1));
    await advanceTo(49);
    assert.equal(reads.length, 0);
    const second = poller.next(pushing, txid(2));
    assert.equal(h.watchers, 0, 'not watched again');
    await advanceTo(50);
    assert.deepEqual(reads, [{ at: 50, txids: [txid(1), txid(2)] }]);
    await Promise.all([first, second]);
  });

  test('a clock stepped back waits one interval, not the time it stepped', async () => {
    const { poller, chain, reads, advanceTo, stepBackTo } = harness();
    const first = poller.next(chain, txid(1));
    await advanceTo(50);
    stepBackTo(-100_000);
    const after = poller.next(chain, txid(2));
    await advanceTo(-100_000 + 50);
    assert.deepEqual(
      reads.map((read) => read.at),
      [50, -100_000 + 50],
    );
    assert.equal((await first)?.status, 'success');
    assert.equal((await after)?.status, 'success');
  });

  test('pushes never move the tick: with a clock that is not a number, the others are still read an interval on', async () => {
    let clock = 0;
    const sleeps: (() => void)[] = [];
    const reads: (readonly string[])[] = [];
    const watchers = new Set<(block: MinedBlock) => void>();
    const poller = createStatusPoller(
      INTERVAL,
      () => new Promise<void>((resolve) => sleeps.push(() => resolve())),
      () => clock,
    );
    const chain = {
      async getTransactions(txids: readonly string[]) {
        reads.push(txids);
        return new Map(txids.map((id) => [id.slice(2), { txid: id, status: 'success' }]));
      },
      async getTransaction(id: string) {
        reads.push([id]);
        return { txid: id, status: 'success' };
      },
      watchBlocks(listener: (block: MinedBlock) => void) {
        watchers.add(listener);
        return () => watchers.delete(listener);
      },
    } as unknown as ChainClient;
    clock = Number.NaN;
    const other = poller.next(chain, txid(100));
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    for (let n = 1; n <= 5; n++) {
      const look = poller.next(chain, txid(n));
      for (const watcher of watchers) watcher({ height: n, hash: '0x', txids: [txid(n).slice(2)] });
      await look;
      await settle();
    }
    assert.equal(sleeps.length, 1, 'one sleep for the tick, however many wakes');
    assert.equal(poller.waiting, 1);
    sleeps[0]!();
    assert.equal((await other)?.status, 'success');
    assert.deepEqual(reads.at(-1), [txid(100)]);
  });

  test('a clock that is not a number waits whole intervals, never a busy loop', async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const poller = createStatusPoller(
      INTERVAL,
      async (ms) => {
        sleeps.push(ms);
        clock = Number.NaN;
      },
      () => clock,
    );
    const chain = {
      async getTransaction() {
        return null;
      },
    } as unknown as ChainClient;
    for (let look = 0; look < 3; look++) assert.equal(await poller.next(chain, txid(look)), null);
    assert.deepEqual(sleeps, [INTERVAL, INTERVAL, INTERVAL]);
  });

  test('a client that throws instead of rejecting, or a sleep that fails, costs a look, never the poller', async () => {
    let throwing = true;
    let sleepFails = true;
    let sleeps = 0;
    const poller = createStatusPoller(
      5,
      (ms) => {
        // Every other failing sleep throws where it should reject.
        if (sleepFails && sleeps++ % 2 === 0) throw new Error('no timer here, synchronously');
        if (sleepFails) return Promise.reject(new Error('no timer here'));
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
      Date.now,
    );
    const chain = {
      getTransaction(txid: string) {
        if (throwing) throw new Error('synchronous');
        return Promise.resolve({ txid, indexed: true, status: 'success' });
      },
      getTransactions() {
        throw new Error('synchronous');
      },
    } as unknown as ChainClient;
    // Both the batched read and each single read throw: every waiter hears that the read failed.
    assert.deepEqual(
      await Promise.all([poller.next(chain, txid(1)), poller.next(chain, txid(2))]),
      [undefined, undefined],
    );
    assert.deepEqual(
      await Promise.all([poller.next(chain, txid(4)), poller.next(chain, txid(5))]),
      [undefined, undefined],
      'a second run, whose sleep rejects',
    );
    assert.ok(sleeps >= 2, 'both kinds of failing sleep were met');
    throwing = false;
    sleepFails = false;
    assert.equal((await poller.next(chain, txid(3)))?.status, 'success');
    assert.equal(poller.waiting, 0);
  });
});
