import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type SettleStep, settleStopwatch } from './settle-steps.js';

/** Spins until `ms` have passed: time a lap can see. */
function busy(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('settleStopwatch', () => {
  test('each lap is the time since the previous one, not counting the observer’s own', () => {
    const heard: [SettleStep, number][] = [];
    const lap = settleStopwatch((step, ms) => {
      heard.push([step, ms]);
      if (step === 'claim') busy(200); // a slow observer
    });
    busy(20);
    lap('claim');
    lap('write_ahead');
    busy(10);
    lap('broadcast');
    assert.deepEqual(
      heard.map(([step]) => step),
      ['claim', 'write_ahead', 'broadcast'],
    );
    const [claim, writeAhead, broadcast] = heard.map(([, ms]) => ms) as [number, number, number];
    assert.ok(claim >= 20, `claim ${claim} ms`);
    // Far below the observer's 200 ms, with room for a busy machine to preempt this process between the two laps.
    assert.ok(
      writeAhead < 100,
      `write_ahead ${writeAhead} ms: the observer's 200 ms are not in it`,
    );
    assert.ok(broadcast >= 10, `broadcast ${broadcast} ms`);
  });

  test('an observer that throws, or returns a promise that rejects, is ignored: laps go on, nothing goes unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let calls = 0;
      const throwing = settleStopwatch(() => {
        calls++;
        throw new Error('a broken sink');
      });
      const rejecting = settleStopwatch(async () => {
        calls++;
        throw new Error('a broken async sink');
      });
      for (const lap of [throwing, rejecting]) {
        assert.doesNotThrow(() => lap('claim'));
        assert.doesNotThrow(() => lap('broadcast'));
      }
      assert.equal(calls, 4);
      // Unhandled rejections are reported after the microtask queue drains.
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('without an observer nothing is timed or called', () => {
    const lap = settleStopwatch(undefined);
    assert.equal(lap('claim'), undefined);
    assert.equal(lap, settleStopwatch(undefined), 'one shared function that does nothing');
  });
});
