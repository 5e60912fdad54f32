import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MinedBlock } from '../chain/block-feed.js';
import type { ChainClient } from '../chain/client.js';
import { createBlockHints } from './block-hints.js';

const txid = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

/** A chain that pushes whatever the test says, a clock the test moves, and a count of the wake-ups. */
function harness() {
  let clock = 0;
  let wakes = 0;
  const watchers = new Set<(block: MinedBlock) => void>();
  const chain = {
    watchBlocks(listener: (block: MinedBlock) => void) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  } as unknown as ChainClient;
  const hints = createBlockHints(
    () => clock,
    () => wakes++,
  );
  return {
    hints,
    chain,
    push(...txids: unknown[]) {
      for (const watcher of watchers) watcher({ height: 1, hash: '0x', txids } as MinedBlock);
    },
    at(ms: number) {
      clock = ms;
    },
    get wakes() {
      return wakes;
    },
    get watchers() {
      return watchers.size;
    },
  };
}

describe('block hints', () => {
  test('a waiting txid in a pushed block is due, as the poller keys it, whatever case or prefix the block uses', () => {
    const h = harness();
    h.hints.waiting(h.chain, txid(0xab).toUpperCase().replace('0X', '0x'));
    h.push(txid(0xab).slice(2), 42, null);
    assert.equal(h.hints.due, 1);
    assert.equal(h.wakes, 1);
    assert.deepEqual(
      [...h.hints.takeDue().values()],
      [[txid(0xab).toUpperCase().replace('0X', '0x')]],
    );
    assert.equal(h.hints.due, 0);
    // Taken: the same block again finds nothing waiting, and remembers it instead.
    h.push(txid(0xab).slice(2));
    assert.equal(h.hints.due, 0);
  });

  test('a pushed txid waited for later is due once, within ten seconds', () => {
    const h = harness();
    h.hints.watch(h.chain);
    h.push(txid(1).slice(2), txid(2).slice(2));
    h.at(10_000);
    h.hints.waiting(h.chain, txid(1));
    assert.equal(h.hints.due, 1);
    h.hints.takeDue();
    h.hints.waiting(h.chain, txid(1));
    assert.equal(h.hints.due, 0, 'once only');
    h.at(10_001);
    h.hints.waiting(h.chain, txid(2));
    assert.equal(h.hints.due, 0, 'forgotten after ten seconds');
  });

  test('at most 10,000 pushed txids are remembered per chain, the oldest forgotten first', () => {
    const h = harness();
    h.hints.watch(h.chain);
    h.push(...Array.from({ length: 10_001 }, (_, n) => txid(n).slice(2)));
    h.hints.waiting(h.chain, txid(0));
    assert.equal(h.hints.due, 0);
    h.hints.waiting(h.chain, txid(1));
    h.hints.waiting(h.chain, txid(10_000));
    assert.equal(h.hints.due, 2);
  });

  test('clear forgets what waits; close stops hearing and watches nothing after', () => {
    const h = harness();
    h.hints.waiting(h.chain, txid(1));
    h.hints.clear();
    h.push(txid(1).slice(2));
    assert.equal(h.hints.due, 0, 'read at a tick: no longer waiting');
    assert.equal(h.watchers, 1);
    h.hints.close();
    assert.equal(h.watchers, 0);
    h.hints.waiting(h.chain, txid(2));
    assert.equal(h.watchers, 0);
    h.push(txid(2).slice(2));
    assert.equal(h.hints.due, 0);
  });

  test('a client without watchBlocks, or whose watch throws, gives no hints and no error', () => {
    const clock = () => 0;
    const hints = createBlockHints(clock, () => {});
    const plain = {} as ChainClient;
    const throwing = {
      watchBlocks() {
        throw new Error('no channel');
      },
    } as unknown as ChainClient;
    hints.waiting(plain, txid(1));
    hints.waiting(throwing, txid(1));
    assert.equal(hints.due, 0);
    hints.close();
  });
});
