/**
 * The seller's challenge writer gives what `issue` gives, as the values that change per 402: the same fields in the
 * same order once they are in place (and the template, serialized, is `JSON.stringify` of that with the values in its
 * slots), a nonce the seller recognizes (and no longer does once a bound field changes), a fresh nonce on every call
 * and the configured expiry, for URIs and statements that need escaping too, and for a clock whose times do not fit
 * their slots.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonSlots } from './json-slots.js';
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
        const writer = challenges.writer(uri);
        const template = jsonSlots(JSON.stringify(writer.template), writer.slots);
        assert.ok(template, 'every marker is found once in the serialized template');
        for (const step of [0, 1, 999, 1_000, 86_400_123]) {
          clock.now = START + step;
          const values = writer.next();
          const written = writer.infoOf(values);
          assert.equal(template.fill(values), true, 'the values fit their slots');
          assert.equal(
            template.text(),
            JSON.stringify(written),
            'serialized as JSON.stringify would',
          );
          const issued = challenges.issue(uri);
          assert.deepEqual(Object.keys(written), Object.keys(issued));
          assert.deepEqual({ ...written, nonce: '' }, { ...issued, nonce: '' });
          assert.equal(written.issuedAt, new Date(clock.now).toISOString());
          assert.equal(Date.parse(written.expirationTime!) - Date.parse(written.issuedAt), 300_000);
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
    const writer = challengesWith(undefined).writer('http://seller.test/api/data');
    const nonces = new Set<string>();
    // More than one pool of random bytes: the refill is crossed several times.
    for (let k = 0; k < 1_500; k++) nonces.add(writer.next()[2]!);
    assert.equal(nonces.size, 1_500);
  });

  test('a statement holding a slot marker, raw or as an escape JSON would write, is still written right', () => {
    for (const statement of [
      'a \u0000json-slot:nonce\u0000 b',
      // A backslash, then the text of the marker's escape: JSON writes `\\u0000…`, which holds `\u0000…`.
      'a \\u0000json-slot:issuedAt\u0000 b',
    ]) {
      const challenges = challengesWith(statement);
      const writer = challenges.writer('http://seller.test/a');
      // The template cannot be slotted: a 402 around it is built whole, from infoOf.
      assert.equal(jsonSlots(JSON.stringify(writer.template), writer.slots), undefined);
      const written = writer.infoOf(writer.next());
      assert.equal(written.statement, statement);
      assert.equal(written.issuedAt, new Date(START).toISOString());
      assert.ok(challenges.issued(written));
    }
  });

  test('times that do not fit their slots (a clock past the year 9999) still make a challenge the seller knows', () => {
    for (const at of [Date.parse('+010000-01-01T00:00:00.000Z'), START + 0.5]) {
      const challenges = challengesWith('Sign in', { now: at });
      const writer = challenges.writer('http://seller.test/a');
      const values = writer.next();
      const written = writer.infoOf(values);
      assert.equal(written.issuedAt, new Date(at).toISOString());
      assert.ok(challenges.issued(written));
      const template = jsonSlots(JSON.stringify(writer.template), writer.slots)!;
      assert.equal(
        template.fill(values),
        values[0]!.length === 24,
        'only times of the usual width fit',
      );
    }
  });

  test('another seller secret does not recognize the nonce', () => {
    const writer = challengesWith(undefined).writer('http://seller.test/a');
    const written = writer.infoOf(writer.next());
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
