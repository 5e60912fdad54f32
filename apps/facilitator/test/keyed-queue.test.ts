/**
 * The per-key queue the PostgreSQL ledger's lock waits go through: one call at a time per key, a bound on calls running
 * across keys, and a failed call that lets the next one run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyedQueue } from '../src/ledger/keyed-queue.js';

/** A call that records when it runs and ends when told. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('calls of one key run one after another, in order; other keys do not wait for them', async () => {
  const queue = keyedQueue();
  const order: string[] = [];
  const first = gate();
  const a1 = queue.run('a', async () => {
    order.push('a1');
    await first.opened;
  });
  const a2 = queue.run('a', async () => {
    order.push('a2');
  });
  const b1 = queue.run('b', async () => {
    order.push('b1');
  });
  await b1;
  await turn();
  assert.deepEqual(order, ['a1', 'b1'], 'a2 waits for a1; b1 does not');
  assert.equal(queue.busy('a'), true);
  first.open();
  await Promise.all([a1, a2]);
  assert.deepEqual(order, ['a1', 'b1', 'a2']);
  await turn();
  assert.equal(queue.busy('a'), false, 'a key with nothing queued is not busy');
});

test('at most maxRunning calls run at once across keys; the others start as those end', async () => {
  const queue = keyedQueue(2);
  let running = 0;
  let most = 0;
  const gates = Array.from({ length: 5 }, gate);
  const calls = gates.map((g, i) =>
    queue.run(`k${i}`, async () => {
      running++;
      most = Math.max(most, running);
      await g.opened;
      running--;
      return i;
    }),
  );
  await turn();
  assert.equal(running, 2);
  for (const g of gates) {
    g.open();
    await turn();
  }
  assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

test('a call that fails fails alone: the next call of its key runs, and a slot is freed', async () => {
  const queue = keyedQueue(1);
  const failed = queue.run('a', async () => {
    throw new Error('no');
  });
  const next = queue.run('a', async () => 'ran');
  const other = queue.run('b', async () => 'other ran');
  await assert.rejects(failed, /no/);
  assert.equal(await next, 'ran');
  assert.equal(await other, 'other ran');
});
