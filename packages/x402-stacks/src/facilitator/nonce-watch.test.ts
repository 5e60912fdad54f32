import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import type { ChainClient } from '../chain/client.js';
import { ChainRequestError } from '../chain/errors.js';
import type { AccountNonces } from '../chain/types.js';
import { createNonceWatch, type NonceWaitRequest } from './nonce-watch.js';

/**
 * A clock that moves only to the end of the earliest pending sleep (a sleep cut short by a wake leaves its timer
 * behind, as a real one would), and a chain whose nonce reads are counted, can be slow and can be made to fail.
 */
function harness(maxWaiting = 10) {
  let clock = 0;
  const timers: { at: number; resolve: () => void }[] = [];
  let driving = false;
  const drive = () => {
    if (driving) return;
    driving = true;
    const step = () => {
      timers.sort((x, y) => x.at - y.at);
      const next = timers.shift();
      if (next === undefined) {
        driving = false;
        return;
      }
      clock = Math.max(clock, next.at);
      next.resolve();
      setImmediate(step);
    };
    setImmediate(step);
  };
  const sleeps: number[] = [];
  const reads: string[] = [];
  let possibleNext = 0n;
  let failing = false;
  let sleepFails = false;
  let duringRead: (() => void) | undefined;
  let readTakesMs = 0;
  const chain = {
    async getNonces(payer: string): Promise<AccountNonces> {
      reads.push(payer);
      duringRead?.();
      duringRead = undefined;
      clock += readTakesMs;
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
      if (sleepFails) throw new Error('timer broke');
      sleeps.push(ms);
      await new Promise<void>((resolve) => {
        timers.push({ at: clock + ms, resolve });
        drive();
      });
    },
  });
  const waitFor = (payer: string, nonce: bigint, until = 10_000): NonceWaitRequest => ({
    chain,
    key: payer,
    payer,
    nonce,
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
    failSleep: () => {
      sleepFails = true;
    },
    onNextRead: (hook: () => void) => {
      duringRead = hook;
    },
    clock: () => clock,
    slowReads: (ms: number) => {
      readTakesMs = ms;
    },
  };
}

/** Lets the watch run, a turn of the event loop at a time, until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('nonce watch', () => {
  test('the waits of one payer share each round, and the rounds drift apart up to the poll interval', async () => {
    const h = harness();
    const outcomes = Promise.all([1n, 2n, 3n].map((n) => h.watch.wait(h.waitFor('SP1', n, 3_000))));
    assert.equal(h.watch.waiting, 3);
    const answers = await outcomes;
    assert.deepEqual(answers, ['timeout', 'timeout', 'timeout']);
    // The last sleep ends at the deadline, and a wait past its deadline is not judged again.
    assert.deepEqual(h.sleeps, [100, 200, 400, 800, 1_000, 500]);
    assert.equal(h.reads.length, 5, 'one read per round for all three');
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

  test("a wait whose signal aborts is cancelled at once and frees its room; the payer's other waits go on", async () => {
    const h = harness(2);
    const hungUp = new AbortController();
    const gone = h.watch.wait({ ...h.waitFor('SP1', 1n), signal: hungUp.signal });
    const stays = h.watch.wait(h.waitFor('SP1', 2n));
    hungUp.abort();
    assert.equal(await gone, 'cancelled');
    assert.equal(h.watch.waiting, 1);
    // Its room is free again: a third wait fits beside the one left.
    const other = h.watch.wait(h.waitFor('SP2', 1n));
    h.setNext(2n);
    assert.deepEqual(await Promise.all([stays, other]), ['reached', 'reached']);
    assert.equal(h.watch.waiting, 0);
  });

  test('a wait whose signal aborted already is cancelled with no read and no room taken; a late abort changes nothing', async () => {
    const h = harness(1);
    const before = new AbortController();
    before.abort();
    assert.equal(
      await h.watch.wait({ ...h.waitFor('SP1', 1n), signal: before.signal }),
      'cancelled',
    );
    assert.equal(h.reads.length, 0);
    assert.equal(h.watch.waiting, 0);
    // Each wait that ends another way stops listening to its signal.
    const after = new AbortController();
    h.setNext(1n);
    assert.equal(await h.watch.wait({ ...h.waitFor('SP1', 1n), signal: after.signal }), 'reached');
    assert.equal(
      await h.watch.wait({ ...h.waitFor('SP1', 5n, 50), signal: after.signal }),
      'timeout',
    );
    h.fail();
    await assert.rejects(h.watch.wait({ ...h.waitFor('SP1', 5n), signal: after.signal }));
    assert.equal(getEventListeners(after.signal, 'abort').length, 0);
    after.abort();
    assert.equal(h.watch.waiting, 0);
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

  test("once a round finds the payer's nonces moving, the next round comes soon again", async () => {
    const h = harness();
    const far = h.watch.wait(h.waitFor('SP1', 9n, 100_000));
    const near = h.watch.wait(h.waitFor('SP1', 1n, 100_000));
    await until(() => h.sleeps.length >= 4);
    h.setNext(1n);
    assert.equal(await near, 'reached');
    await until(() => h.sleeps.length >= 6);
    assert.deepEqual(h.sleeps.slice(0, 6), [100, 200, 400, 800, 100, 200]);
    h.setNext(9n);
    assert.equal(await far, 'reached');
  });

  test('a wait that joins an old watch ends at its own deadline, not a poll interval later', async () => {
    const h = harness();
    const old = h.watch.wait(h.waitFor('SP1', 9n, 100_000));
    await until(() => h.sleeps.length >= 6);
    const deadline = h.clock() + 150;
    assert.equal(await h.watch.wait(h.waitFor('SP1', 2n, deadline)), 'timeout');
    assert.ok(h.clock() <= deadline, `answered at ${h.clock()}, deadline ${deadline}`);
    h.setNext(9n);
    assert.equal(await old, 'reached');
  });

  test('a wait past its deadline is answered timeout without a read, even if its nonce is reached by then', async () => {
    const h = harness();
    const late = h.watch.wait(h.waitFor('SP2', 5n, 50));
    h.setNext(5n);
    assert.equal(await late, 'timeout');
    assert.deepEqual(h.sleeps, [50], 'the one sleep ended at the deadline');
    assert.deepEqual(h.reads, []);
  });

  test('a wait that joins while a round reads the chain is judged from the next round on', async () => {
    const h = harness();
    const first = h.watch.wait(h.waitFor('SP1', 9n, 100_000));
    let joined: Promise<string> | undefined;
    // The joiner's own fresh read said waiting at nonce 1: the round's read began before it, so it must not decide.
    h.onNextRead(() => {
      joined = h.watch.wait({ ...h.waitFor('SP1', 1n, 100_000), judge: () => 'reached' });
    });
    await until(() => joined !== undefined);
    const readsWhenJoined = h.reads.length;
    assert.equal(await joined, 'reached');
    assert.equal(h.reads.length, readsWhenJoined + 1, 'decided on the round after it joined');
    h.setNext(9n);
    assert.equal(await first, 'reached');
  });

  test('a sleep that fails rejects every wait of that payer and frees their room', async () => {
    const h = harness(2);
    const waits = [h.watch.wait(h.waitFor('SP1', 1n)), h.watch.wait(h.waitFor('SP1', 2n))];
    h.failSleep();
    for (const wait of waits) await assert.rejects(wait, /timer broke/);
    assert.equal(h.watch.waiting, 0);
  });

  test('a read that ends past a deadline never makes that wait reached', async () => {
    const h = harness();
    const wait = h.watch.wait(h.waitFor('SP1', 1n, 150));
    h.setNext(1n);
    h.slowReads(60_000); // the chain client retrying a node that stalls
    assert.equal(await wait, 'timeout');
  });

  test('a deadline that cuts a sleep short is answered without a read of its own', async () => {
    const h = harness();
    const long = h.watch.wait(h.waitFor('SP1', 9n, 100_000));
    const short = h.watch.wait(h.waitFor('SP1', 8n, 150));
    assert.equal(await short, 'timeout');
    // Rounds at 100 and 300 ms; the deadline at 150 between them costs no read.
    await until(() => h.sleeps.length >= 3);
    assert.deepEqual(h.sleeps.slice(0, 3), [100, 50, 150]);
    assert.equal(h.reads.length, 1);
    h.setNext(9n);
    assert.equal(await long, 'reached');
  });

  test("room is made from the payer's highest nonce, which is furthest from going out, and from the latest payer among equals", async () => {
    const h = harness(4);
    // Payer A's payments arrive out of order: 12, 13, 14, then 11.
    const a = [12n, 13n, 14n, 11n].map((n) => h.watch.wait(h.waitFor('SPA', n)));
    const b = h.watch.wait(h.waitFor('SPB', 1n));
    assert.equal(await a[2], 'busy', 'nonce 14 gave way, not 11');
    assert.equal(
      await h.watch.wait(h.waitFor('SPA', 15n)),
      'busy',
      'the payer holding the most takes no room back',
    );
    // A holds 3 and B 1: C takes from A again (its highest left, 13).
    const c = h.watch.wait(h.waitFor('SPC', 1n));
    assert.equal(await a[1], 'busy');
    // A, B and C hold 2, 1 and 1. D takes from A (12); then A, B, C and D hold one each, and E finds no room.
    const d = h.watch.wait(h.waitFor('SPD', 1n));
    assert.equal(await a[0], 'busy');
    assert.equal(await h.watch.wait(h.waitFor('SPE', 1n)), 'busy');
    h.setNext(11n);
    assert.deepEqual(await Promise.all([a[3], b, c, d]), [
      'reached',
      'reached',
      'reached',
      'reached',
    ]);
  });

  test('among payers holding equally many, the one that started watching last gives way', async () => {
    const h = harness(4);
    const early = [1n, 2n].map((n) => h.watch.wait(h.waitFor('SPEARLY', n)));
    const late = [1n, 2n].map((n) => h.watch.wait(h.waitFor('SPLATE', n)));
    const third = h.watch.wait(h.waitFor('SPTHIRD', 1n));
    assert.equal(await late[1], 'busy');
    h.setNext(2n);
    assert.deepEqual(await Promise.all([...early, late[0], third]), [
      'reached',
      'reached',
      'reached',
      'reached',
    ]);
  });

  test("a broadcast for the payer calls its watch's next round at once, mid-sleep or mid-read", async () => {
    const h = harness();
    const far = h.watch.wait(h.waitFor('SP1', 9n, 100_000));
    const near = h.watch.wait(h.waitFor('SP1', 1n, 100_000));
    await until(() => h.sleeps.length >= 5);
    // Asleep for 1,000 ms: a nudge makes the round now, and it finds nonce 1.
    const before = h.clock();
    h.setNext(1n);
    h.watch.nudge('SP1');
    assert.equal(await near, 'reached');
    assert.equal(h.clock(), before, 'no time went by');
    // A nudge while a round reads: the read may predate the broadcast, so another round follows at once.
    const reads = h.reads.length;
    const at = h.clock();
    h.onNextRead(() => h.watch.nudge('SP1'));
    h.watch.nudge('SP1');
    await until(() => h.reads.length >= reads + 2);
    assert.ok(
      h.clock() - at < 100,
      `two rounds within ${h.clock() - at} ms, less than an interval`,
    );
    h.setNext(9n);
    assert.equal(await far, 'reached');
    h.watch.nudge('SP-NOBODY'); // no watch: nothing happens
    assert.equal(h.watch.waiting, 0);
  });

  test('a nudged round that finds nothing yet (the API shows the broadcast later) leaves the regular rounds as they were', async () => {
    const h = harness();
    const wait = h.watch.wait(h.waitFor('SP1', 1n, 100_000));
    await until(() => h.sleeps.length >= 2);
    // Asleep until 300 after a round at 100: the nudge's read finds nonce 1 not there yet.
    h.watch.nudge('SP1');
    await until(() => h.sleeps.length >= 4);
    assert.deepEqual(
      h.sleeps.slice(0, 4),
      [100, 200, 200, 400],
      'the round at 300 still came, then 400 later',
    );
    h.setNext(1n);
    assert.equal(await wait, 'reached');
  });
});
