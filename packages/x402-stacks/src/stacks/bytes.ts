/** Byte helpers on the hot path of payment checks (hex, equality). Node's Buffer is used when present: ~10x faster than a JS loop. */

type BufferLike = {
  from(data: string, encoding: 'hex'): Uint8Array;
  from(data: Uint8Array): { toString(encoding: 'hex'): string };
};
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

/** Lower-case hex of bytes, without `0x`. */
export function toHex(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes).toString('hex');
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Bytes of an even-length hex string the caller has already validated. */
export function fromHex(hex: string): Uint8Array {
  if (NodeBuffer) {
    const buffer = NodeBuffer.from(hex, 'hex');
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
