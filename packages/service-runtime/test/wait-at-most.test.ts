import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitAtMost } from '../src/index.js';

test('waitAtMost: ends with the work, never rejects, and ends at its time when the work never does', async () => {
  const started = performance.now();
  await waitAtMost(5_000, Promise.resolve('done'));
  await waitAtMost(5_000, Promise.reject(new Error('failed work is waited for, not thrown')));
  assert.ok(performance.now() - started < 1_000, 'settled work ends the wait at once');
  const forever = new Promise(() => {});
  // waitAtMost's own timer holds nothing open, as a stop needs: this keeps the test's process alive meanwhile.
  const alive = setInterval(() => {}, 1_000);
  const before = performance.now();
  await waitAtMost(200, forever);
  const waited = performance.now() - before;
  clearInterval(alive);
  assert.ok(waited >= 190 && waited < 2_000, `waited ${Math.round(waited)} ms`);
});
