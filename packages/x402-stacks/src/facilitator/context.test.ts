import assert from 'node:assert/strict';
import { test } from 'node:test';
import { X402StacksError } from '../errors/base.js';
import { createContext } from './context.js';
import { createFacilitator } from './engine.js';
import { FacilitatorConfigError } from './errors.js';

test('options that cannot run a facilitator throw FacilitatorConfigError listing every problem, never a key', () => {
  const secret = 'ab'.repeat(33);
  let thrown: unknown;
  try {
    createFacilitator({
      networks: {},
      settleTimeoutMs: -1,
      maxNonceAhead: 40n,
      maxNonceWaits: 1.5,
      sponsor: { privateKeys: [secret], limits: { maxFailedPerPayer: -1 }, allowedPayTo: ['nope'] },
    });
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof FacilitatorConfigError);
  assert.ok(thrown instanceof X402StacksError);
  assert.equal(thrown.reason, 'invalid_facilitator_config');
  assert.deepEqual(thrown.issues, [
    'networks: name at least one network (mainnet or testnet)',
    'settleTimeoutMs: expected a positive number of ms',
    'sponsor.privateKeys: key #1 is not a valid private key',
    'sponsor.limits.maxFailedPerPayer: expected a non-negative integer',
    'sponsor.allowedPayTo: nope is not a Stacks address',
    'maxNonceAhead: expected 0 to 25, got 40',
    'maxNonceWaits: expected a non-negative integer, got 1.5',
  ]);
  assert.ok(!thrown.message.includes(secret));
});

test('a valid configuration builds, with the pool’s first key advertised as sponsor and fee payer', () => {
  const facilitator = createFacilitator({
    networks: { testnet: { url: 'http://127.0.0.1:9' } },
    sponsor: { privateKeys: '753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601' },
  });
  const [kind] = facilitator.supported().kinds;
  assert.equal(kind?.extra?.sponsor, kind?.extra?.feePayer);
  assert.match(String(kind?.extra?.sponsor), /^ST/);
});

test("a network's built-in client offers pushed blocks unless blockEvents is false", () => {
  const chainOf = (connection: { url: string; blockEvents?: boolean }) =>
    [...createContext({ networks: { testnet: connection } }).chains.values()][0]!.chain;
  assert.equal(typeof chainOf({ url: 'http://127.0.0.1:1' }).watchBlocks, 'function');
  assert.equal(
    typeof chainOf({ url: 'http://127.0.0.1:1', blockEvents: true }).watchBlocks,
    'function',
  );
  assert.equal(chainOf({ url: 'http://127.0.0.1:1', blockEvents: false }).watchBlocks, undefined);
  // From JSON, 'false' is a string: refused rather than read as on.
  assert.throws(
    () =>
      createContext({
        networks: { testnet: { url: 'http://127.0.0.1:1', blockEvents: 'false' as never } },
      }),
    (error: unknown) =>
      error instanceof FacilitatorConfigError &&
      error.issues.includes('networks.testnet.blockEvents: expected true or false'),
  );
});
