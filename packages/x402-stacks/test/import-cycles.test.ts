/** The library's modules import one another without a ring, type-only imports included. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importCycles } from '@x402-stacks/test-kit';

test('no import cycles in packages/x402-stacks/src', () => {
  assert.deepEqual(importCycles(fileURLToPath(new URL('../src', import.meta.url))), []);
});
