/**
 * `createIsoTime` writes what `new Date(ms).toISOString()` does for every time: within a second, across seconds,
 * minutes and years, going back in time, and for the times its shortcut leaves to Date (fractional, before 1970,
 * after 9999).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createIsoTime } from './iso-time.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('createIsoTime', () => {
  test('equals toISOString along a clock that moves forward, backward and jumps', () => {
    const format = createIsoTime();
    const start = Date.parse('2026-12-31T23:59:58.990Z');
    const times: number[] = [];
    for (let step = 0; step < 3_000; step++) times.push(start + step); // across a second, a minute and a year
    times.push(
      start,
      start + 5,
      start - 1_000,
      0,
      999,
      1_000,
      Date.parse('2099-02-28T23:59:59.999Z'),
    );
    for (const ms of times) assert.equal(format(ms), iso(ms), `at ${ms}`);
  });

  test('equals toISOString for random times, each milliseconds width', () => {
    const format = createIsoTime();
    for (let k = 0; k < 5_000; k++) {
      const ms = Math.floor(Math.random() * 253_402_300_800_000); // up to 9999-12-31
      assert.equal(format(ms), iso(ms));
      for (const milli of [0, 7, 42, 999]) {
        const same = ms - (ms % 1000) + milli;
        assert.equal(format(same), iso(same));
      }
    }
  });

  test('times outside the shortcut are formatted by Date', () => {
    const format = createIsoTime();
    for (const ms of [
      1_000.7, 1_999.999, -1, -1_500, -62_198_755_200_000, 253_402_300_800_000, 8.64e15,
    ]) {
      assert.equal(format(ms), iso(ms), `at ${ms}`);
    }
    // The shortcut's memory is untouched by them.
    assert.equal(format(1_700_000_000_123), iso(1_700_000_000_123));
    assert.equal(format(1_700_000_000_124), iso(1_700_000_000_124));
  });

  test('an invalid time throws as toISOString does', () => {
    const format = createIsoTime();
    assert.throws(() => format(Number.NaN), RangeError);
    assert.throws(() => format(8.64e15 + 1), RangeError);
  });
});
