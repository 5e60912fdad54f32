/**
 * The seller's challenge writer gives what `issue` gives, as text: the same fields in the same order, serialized as
 * `JSON.stringify` would, a nonce the seller recognizes (and no longer does once a bound field changes), a fresh nonce
 * on every call and the configured expiry, for URIs and statements that need escaping too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSiwxChallenges } from './siwx-challenges.js';

const START = Date.parse('2026-03-01T12:00:00.000Z');

function challengesWith(statement: string | undefined, clock = { now: START }) {
  return createSiwxChallenges({
    secret: new TextEncoder().encode('a test secret of thirty-two chars!'),
    domain: 'seller.test',
    ttlMs: 300_000,
    statement,
    clock: () => clock.now,
  });
}

describe('siwx challenge writer', () => {
  for (const statement of [undefined, 'Sign in to read', 'quotes " \\ é🚀 日本語\n', '']) {
    for (const uri of ['http://seller.test/api/data', 'http://seller.test/caf%C3%A9/%22x%22']) {
      test(`the same challenge as issue, as JSON text (statement ${JSON.stringify(statement)}, ${uri})`, () => {
        const clock = { now: START };
        const challenges = challengesWith(statement, clock);
        const write = challenges.writer(uri);
        for (const step of [0, 1, 999, 1_000, 86_400_123]) {
          clock.now = START + step;
          const text = write();
          const written = JSON.parse(text);
          assert.equal(text, JSON.stringify(written), 'serialized as JSON.stringify would');
          const issued = challenges.issue(uri);
          assert.deepEqual(Object.keys(written), Object.keys(issued));
          assert.deepEqual({ ...written, nonce: '' }, { ...issued, nonce: '' });
          assert.equal(written.issuedAt, new Date(clock.now).toISOString());
          assert.equal(Date.parse(written.expirationTime) - Date.parse(written.issuedAt), 300_000);
          assert.match(written.nonce, /^[0-9a-f]{32}$/);
          assert.ok(challenges.issued(written), 'the seller recognizes the nonce it wrote');
          for (const changed of [
            { uri: `${uri}x` },
            { domain: 'other.test' },
            { issuedAt: new Date(clock.now + 1).toISOString() },
            { expirationTime: new Date(clock.now + 300_001).toISOString() },
            { statement: `${statement ?? ''}!` },
            { nonce: `${written.nonce.slice(0, 16)}${'0'.repeat(16)}` },
          ]) {
            assert.equal(
              challenges.issued({ ...written, ...changed }),
              false,
              JSON.stringify(changed),
            );
          }
        }
      });
    }
  }

  test('a fresh nonce on every call, in the same millisecond', () => {
    const write = challengesWith(undefined).writer('http://seller.test/api/data');
    const nonces = new Set<string>();
    // More than one pool of random bytes: the refill is crossed several times.
    for (let k = 0; k < 500; k++) nonces.add(JSON.parse(write()).nonce);
    assert.equal(nonces.size, 500);
  });

  test('a statement holding a hole marker, raw or as an escape JSON would write, is still written right', () => {
    for (const statement of [
      'a \u0000json-hole:nonce\u0000 b',
      // A backslash, then the text of the marker's escape: JSON writes `\\u0000…`, which holds `\u0000…`.
      'a \\u0000json-hole:issuedAt\u0000 b',
    ]) {
      const challenges = challengesWith(statement);
      const text = challenges.writer('http://seller.test/a')();
      const written = JSON.parse(text);
      assert.equal(text, JSON.stringify(written));
      assert.equal(written.statement, statement);
      assert.equal(written.issuedAt, new Date(START).toISOString());
      assert.ok(challenges.issued(written));
    }
  });

  test('another seller secret does not recognize the nonce', () => {
    const written = JSON.parse(challengesWith(undefined).writer('http://seller.test/a')());
    const other = createSiwxChallenges({
      secret: new TextEncoder().encode('another secret, also thirty-two!!'),
      domain: 'seller.test',
      ttlMs: 300_000,
      statement: undefined,
      clock: () => START,
    });
    assert.equal(other.issued(written), false);
  });
});
