import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  base64ToBytes,
  base64ToUtf8,
  bytesToBase64,
  isStandardBase64,
  utf8ToBase64,
} from './base64.js';

describe('portable base64 (the path used without Buffer)', () => {
  test('matches Buffer for every length from 0 to 64 bytes', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = new Uint8Array(randomBytes(length));
      const expected = Buffer.from(bytes).toString('base64');
      assert.equal(bytesToBase64(bytes), expected, `length ${length}`);
      assert.deepEqual(base64ToBytes(expected), bytes, `length ${length}`);
    }
  });

  test('handles inputs longer than one chunk', () => {
    const bytes = new Uint8Array(randomBytes(100_001));
    const expected = Buffer.from(bytes).toString('base64');
    assert.equal(bytesToBase64(bytes), expected);
    assert.deepEqual(base64ToBytes(expected), bytes);
  });
});

describe('utf8ToBase64 / base64ToUtf8', () => {
  test('round-trip text outside ASCII', () => {
    const text = '{"description":"Météo ☀ 𝄞"}';
    const encoded = utf8ToBase64(text);
    assert.equal(encoded, Buffer.from(text, 'utf8').toString('base64'));
    assert.equal(base64ToUtf8(encoded), text);
  });

  test('refuse bytes that are not UTF-8 instead of replacing them', () => {
    assert.throws(
      () => base64ToUtf8(Buffer.from([0x7b, 0xc3, 0x28]).toString('base64')),
      TypeError,
    );
  });
});

describe('isStandardBase64', () => {
  const cases: [text: string, expected: boolean][] = [
    ['', true],
    ['eyJhIjoxfQ==', true],
    ['Pz8/Pj4+', true],
    ['eyJhIjoxfQ', false],
    ['eyJhIjoxfQ=', false],
    ['Pz8_Pj4-', false],
    ['eyJh IjoxfQ==', false],
    ['eyJhIjoxfQ==\n', false],
    ['eyJhIj=xfQ==', false],
    ['eyJhIjoxf===', false],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${expected}`, () => {
      assert.equal(isStandardBase64(text), expected);
    });
  }
});
