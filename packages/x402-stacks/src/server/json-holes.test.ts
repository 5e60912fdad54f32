/**
 * `jsonWithHoles` writes exactly what `JSON.stringify` writes for the value with the strings in place of the holes,
 * whatever the order of the holes in the text and in the arguments; a hole missing or repeated gives no writer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonHole, jsonWithHoles } from './json-holes.js';

const A = jsonHole('a');
const B = jsonHole('b');
const C = jsonHole('c');

describe('jsonWithHoles', () => {
  test('equals JSON.stringify of the filled value, holes in any order, around any text', () => {
    const shape = (a: string, b: string, c: string) => ({
      first: 'quote " backslash \\ and é🚀 \u0001',
      c,
      nested: { list: [1, null, b, { deep: true }], empty: '' },
      a,
      last: [],
    });
    const write = jsonWithHoles(shape(A, B, C), [A, B, C]);
    assert.ok(write);
    for (const [a, b, c] of [
      ['', '', ''],
      ['00ff', '2026-12-03T14:00:00.000Z', 'abc'],
      ['0123456789abcdef', 'x', '9'.repeat(64)],
    ] as const) {
      assert.equal(write(a, b, c), JSON.stringify(shape(a, b, c)));
    }
  });

  test('a hole at the very start or end of the text, and a top-level string', () => {
    const write = jsonWithHoles(A, [A]);
    assert.equal(write?.('abc'), '"abc"');
    const array = jsonWithHoles([A, 1, B], [B, A]);
    assert.equal(array?.('second', 'first'), JSON.stringify(['first', 1, 'second']));
  });

  test('no writer when a hole is missing or appears twice', () => {
    assert.equal(jsonWithHoles({ a: 'x' }, [A]), undefined);
    assert.equal(jsonWithHoles({ a: A, b: A }, [A]), undefined);
    assert.equal(jsonWithHoles({ a: A, b: `${A} again` }, [A]), undefined);
  });

  test('a hole marker cannot come from ordinary text: it starts with NUL', () => {
    assert.equal(jsonHole('a').charCodeAt(0), 0);
    assert.notEqual(jsonHole('a'), jsonHole('b'));
  });

  test('a hole whose name starts another’s is told apart', () => {
    const short = jsonHole('issued');
    const long = jsonHole('issuedAt');
    const write = jsonWithHoles({ x: long, y: short }, [short, long]);
    assert.equal(write?.('s', 'l'), JSON.stringify({ x: 'l', y: 's' }));
  });
});
