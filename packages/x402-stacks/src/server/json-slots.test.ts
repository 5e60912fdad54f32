/**
 * `jsonSlots` holds exactly what `JSON.stringify` writes for the value with the values in place of the slots, as text,
 * as UTF-8 bytes and as base64, whatever the order of the slots in the text and in the arguments and whatever text
 * (non-ASCII included) is around them; a marker missing or repeated gives nothing, and a value that does not fit its
 * slot is refused with the text left as it was.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonSlot, jsonSlots } from './json-slots.js';

const A = jsonSlot('a', 4);
const B = jsonSlot('b', 24);
const C = jsonSlot('c', 1);

const base64Of = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('jsonSlots', () => {
  for (const first of ['plain ASCII', 'quote " backslash \\ and é🚀 \u0001']) {
    test(`equals JSON.stringify of the filled value, slots in any order, around ${first}`, () => {
      const shape = (a: string, b: string, c: string) => ({
        first,
        c,
        nested: { list: [1, null, b, { deep: true }], empty: '' },
        a,
        last: [],
      });
      const slots = jsonSlots(JSON.stringify(shape(A.marker, B.marker, C.marker)), [A, B, C]);
      assert.ok(slots);
      for (const [a, b, c] of [
        ['00ff', '2026-12-03T14:00:00.000Z', '9'],
        ['abcd', '1970-01-01T00:00:00.000Z', 'x'],
      ] as const) {
        assert.equal(slots.fill([a, b, c]), true);
        const expected = JSON.stringify(shape(a, b, c));
        assert.equal(slots.text(), expected);
        assert.equal(slots.base64(), base64Of(expected));
        assert.deepEqual(slots.bytes, new TextEncoder().encode(expected));
      }
    });
  }

  test('a slot at the very start or end of the text, and a top-level string', () => {
    const alone = jsonSlots(JSON.stringify(A.marker), [A]);
    assert.equal(alone?.fill(['abcd']), true);
    assert.equal(alone?.text(), '"abcd"');
    const array = jsonSlots(JSON.stringify([A.marker, 1, C.marker]), [C, A]);
    assert.equal(array?.fill(['s', 'firs']), true);
    assert.equal(array?.text(), JSON.stringify(['firs', 1, 's']));
  });

  test('a value of another width, or one JSON would escape or write in several bytes, is refused', () => {
    const slots = jsonSlots(JSON.stringify({ a: A.marker }), [A])!;
    assert.equal(slots.fill(['0123']), true);
    for (const value of ['012', '01234', 'ab"c', 'ab\\c', 'ab\nc', 'abcé']) {
      assert.equal(slots.fill([value]), false, JSON.stringify(value));
      assert.equal(slots.text(), '{"a":"0123"}', 'the text is left as it was');
    }
    assert.equal(slots.fill([]), false);
  });

  test('nothing when a marker is missing or appears twice', () => {
    assert.equal(jsonSlots(JSON.stringify({ a: 'x' }), [A]), undefined);
    assert.equal(jsonSlots(JSON.stringify({ a: A.marker, b: A.marker }), [A]), undefined);
    assert.equal(
      jsonSlots(JSON.stringify({ a: A.marker, b: `${A.marker} again` }), [A]),
      undefined,
    );
  });

  test('a marker cannot come from ordinary text: it starts with NUL', () => {
    assert.equal(A.marker.charCodeAt(0), 0);
    assert.notEqual(jsonSlot('a', 4).marker, jsonSlot('b', 4).marker);
  });

  test('a slot whose name starts another’s is told apart', () => {
    const short = jsonSlot('issued', 1);
    const long = jsonSlot('issuedAt', 2);
    const slots = jsonSlots(JSON.stringify({ x: long.marker, y: short.marker }), [short, long]);
    assert.equal(slots?.fill(['s', 'll']), true);
    assert.equal(slots?.text(), JSON.stringify({ x: 'll', y: 's' }));
  });
});
