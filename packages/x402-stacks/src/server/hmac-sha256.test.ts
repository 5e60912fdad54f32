/**
 * `keyedHmacSha256` gives what Node's `createHmac('sha256', key)` gives, for keys shorter than, as long as and longer
 * than SHA-256's block, and for messages of any length and any characters, as text or as bytes (the buffer grows for
 * long ones and keeps the key's pad after growing).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { keyedHmacSha256 } from './hmac-sha256.js';

const messages = [
  '',
  'a',
  '["0123456789abcdef","api.example.com","https://api.example.com/x","1"]',
  'é☃𝄞 and \u0000 '.repeat(40),
  'x'.repeat(1_000),
  'short after long',
];

describe('keyedHmacSha256', () => {
  for (const length of [0, 1, 32, 63, 64, 65, 200]) {
    test(`equals createHmac for a ${length}-byte key`, () => {
      const key = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff);
      const mac = keyedHmacSha256(key);
      for (const message of messages) {
        const expected = createHmac('sha256', key).update(message).digest('hex');
        assert.equal(mac(message), expected);
        assert.equal(mac(new TextEncoder().encode(message)), expected);
      }
    });
  }
  test('two keys give two MACs of one message, and the key given is left as it was', () => {
    const key = new Uint8Array(32).fill(7);
    const first = keyedHmacSha256(key);
    const second = keyedHmacSha256(new Uint8Array(32).fill(8));
    assert.notEqual(first('m'), second('m'));
    assert.deepEqual(key, new Uint8Array(32).fill(7));
  });
});
