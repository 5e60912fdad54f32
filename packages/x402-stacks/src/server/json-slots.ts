/**
 * JSON text with fixed-width slots: a value serialized once and kept as UTF-8 bytes, with room where per-call values
 * of a known width go (a sign-in challenge's times and nonce, fresh on every 402, inside a 402 that is otherwise the
 * same). A call writes those few bytes over the last call's and reads the whole text, or its base64, in one native
 * copy: nothing is serialized, split or joined per call, and the strings handed on are flat (a string joined from
 * parts is copied flat again by Node, for its header check and for its length), which measured cheaper on a busy
 * seller than joining cached parts.
 * @module
 */
import { bytesToBase64 } from '../protocol/base64.js';

/** Where a slot goes in the value to serialize (its marker, a string value), and how many characters it holds. */
export type JsonSlot = { readonly marker: string; readonly width: number };

/**
 * A slot named `name`, `width` characters wide. The marker's NULs keep it out of what a URL holds and of any text a
 * seller means to write; were a value around the slots to hold a marker all the same, the marker would be found
 * twice and {@link jsonSlots} would give nothing.
 * @example
 * ```ts
 * const nonce = jsonSlot('nonce', 32);
 * jsonSlots(JSON.stringify({ nonce: nonce.marker }), [nonce]);
 * ```
 */
export function jsonSlot(name: string, width: number): JsonSlot {
  // Closed by a second NUL, so no slot's marker is the start of another's.
  return { marker: `\u0000json-slot:${name}\u0000`, width };
}

/** A serialized value whose slots are written per call. */
export type JsonSlots = {
  /**
   * Writes `values` (in the order of the slots given to {@link jsonSlots}) over the slots. Each must be exactly as
   * wide as its slot and printable ASCII that JSON writes as it is (no `"` or `\`): hex, ISO-8601 times. Otherwise
   * nothing is written and the answer is false.
   */
  fill(values: readonly string[]): boolean;
  /** The JSON text, with the values last filled. */
  text(): string;
  /** Base64 of the text's UTF-8 bytes. */
  base64(): string;
  /** The text's UTF-8 bytes, written over by each fill: read them before the next. */
  readonly bytes: Uint8Array;
};

type NodeBuffer = {
  from(
    buffer: ArrayBufferLike,
    byteOffset: number,
    length: number,
  ): {
    toString(encoding: 'latin1' | 'utf8' | 'base64'): string;
  };
};
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The JSON `text` of a value in which each slot's marker appears once as a string value, as bytes with each marker's
 * text replaced by room for `width` characters.
 * @returns the slots' writer, or undefined when a marker is not found exactly once in the text.
 * @example
 * ```ts
 * const at = jsonSlot('at', 4);
 * const slots = jsonSlots(JSON.stringify({ a: 1, at: at.marker }), [at])!;
 * slots.fill(['00ff']);
 * slots.text(); // '{"a":1,"at":"00ff"}', as JSON.stringify({ a: 1, at: '00ff' })
 * ```
 */
export function jsonSlots(text: string, slots: readonly JsonSlot[]): JsonSlots | undefined {
  // Where each marker's text sits, inside its quotes: the quotes stay in the constant parts.
  const found: { slot: number; at: number; length: number }[] = [];
  for (const [slot, { marker }] of slots.entries()) {
    const escaped = JSON.stringify(marker).slice(1, -1);
    const at = text.indexOf(escaped);
    if (at < 0 || text.indexOf(escaped, at + 1) >= 0) return undefined;
    found.push({ slot, at, length: escaped.length });
  }
  found.sort((x, y) => x.at - y.at);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const { at, length } of found) {
    parts.push(encoder.encode(text.slice(from, at)));
    from = at + length;
  }
  parts.push(encoder.encode(text.slice(from)));
  const widths = slots.map(({ width }) => width);
  const bytes = new Uint8Array(
    parts.reduce((sum, part) => sum + part.length, 0) + widths.reduce((sum, w) => sum + w, 0),
  );
  // Byte offset of each slot, in the order the slots were given.
  const offsets = new Array<number>(slots.length);
  let length = 0;
  for (const [k, part] of parts.entries()) {
    bytes.set(part, length);
    length += part.length;
    const slot = found[k]?.slot;
    if (slot === undefined) break;
    offsets[slot] = length;
    bytes.fill(0x30, length, length + widths[slot]!); // '0' until the first fill
    length += widths[slot]!;
  }
  // The values are ASCII: text that is ASCII around them is read as Latin-1, a plain copy, instead of decoded.
  const ascii = bytes.every((byte) => byte < 0x80);
  const view = nodeBuffer?.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    bytes,
    fill(values) {
      for (let slot = 0; slot < widths.length; slot++) {
        const value = values[slot];
        if (value === undefined || value.length !== widths[slot] || !isPlainAscii(value)) {
          return false;
        }
      }
      for (let slot = 0; slot < widths.length; slot++) {
        const value = values[slot]!;
        const at = offsets[slot]!;
        for (let i = 0; i < value.length; i++) bytes[at + i] = value.charCodeAt(i);
      }
      return true;
    },
    text: () => (view ? view.toString(ascii ? 'latin1' : 'utf8') : decoder.decode(bytes)),
    base64: () => (view ? view.toString('base64') : bytesToBase64(bytes)),
  };
}

/** Printable ASCII but `"` and `\`: what JSON writes as it is, one byte per character. */
function isPlainAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}
