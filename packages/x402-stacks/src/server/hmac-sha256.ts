/**
 * HMAC-SHA-256 (RFC 2104) under one fixed key, for a MAC computed on every 402 (the sign-in nonce's tag). The key's
 * two padded blocks are prepared once; each MAC is then two one-shot SHA-256 calls over a reused buffer. Node's
 * `createHmac` builds a native context, prepares the key and hashes both pads again on every call, which cost more
 * than the rest of a sign-in challenge together. Where Node's one-shot `crypto.hash` is missing (browsers, old Node),
 * noble's HMAC computes the same value.
 * @module
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { builtin } from '../stacks/builtin.js';
import { toHex } from '../stacks/bytes.js';

type NodeCrypto = {
  hash?(algorithm: 'sha256', data: Uint8Array, outputEncoding: 'buffer'): Uint8Array;
  hash?(algorithm: 'sha256', data: Uint8Array, outputEncoding: 'hex' | 'latin1'): string;
};
const nodeCrypto = builtin<NodeCrypto>('node:crypto');
const encoder = new TextEncoder();

/** SHA-256 reads its input in blocks of 64 bytes: the key is padded (or first hashed) to one block. */
const BLOCK = 64;
const DIGEST = 32;

/**
 * A function giving HMAC-SHA-256 under `key` of a message (text, as its UTF-8 bytes, or bytes), as lowercase hex.
 * @example
 * ```ts
 * const mac = keyedHmacSha256(secret);
 * mac('{"nonce":"…"}'); // same as createHmac('sha256', secret).update(text).digest('hex')
 * ```
 */
export function keyedHmacSha256(key: Uint8Array): (message: string | Uint8Array) => string {
  const portable = (message: string | Uint8Array) =>
    toHex(hmac(sha256, key, typeof message === 'string' ? encoder.encode(message) : message));
  const fast = withNodeHash(key);
  // Checked once against the portable HMAC: a runtime whose one-shot hash answered in another shape would otherwise
  // give every message the same tag, and anyone could forge a nonce.
  const probe = 'x402-stacks hmac self-check';
  try {
    return fast !== undefined &&
      fast(probe) === portable(probe) &&
      fast(encoder.encode(probe)) === portable(probe)
      ? fast
      : portable;
  } catch {
    return portable;
  }
}

function withNodeHash(key: Uint8Array): ((message: string | Uint8Array) => string) | undefined {
  const hash = nodeCrypto?.hash;
  if (hash === undefined) return undefined;
  const block = new Uint8Array(BLOCK);
  block.set(key.length > BLOCK ? hash('sha256', key, 'buffer') : key);
  const innerPad = block.map((byte) => byte ^ 0x36);
  // The outer input is its pad and then the inner digest, written into its last 32 bytes on each call.
  const outer = new Uint8Array(BLOCK + DIGEST);
  outer.set(block.map((byte) => byte ^ 0x5c));
  block.fill(0);
  // The inner input is its pad and then the message, written after the pad on each call.
  const withPad = (room: number) => {
    const buffer = new Uint8Array(BLOCK + room);
    buffer.set(innerPad);
    return buffer;
  };
  let inner = withPad(256);
  // The part of `inner` hashed last: messages of one length (a text with fixed-width slots) reuse it.
  let hashed = inner.subarray(0, BLOCK);
  return (message) => {
    let written = message.length;
    if (typeof message === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (inner.length < BLOCK + message.length * 3) inner = withPad(message.length * 3);
      written = encoder.encodeInto(message, inner.subarray(BLOCK)).written;
    } else {
      if (inner.length < BLOCK + message.length) inner = withPad(message.length);
      inner.set(message, BLOCK);
    }
    if (hashed.buffer !== inner.buffer || hashed.length !== BLOCK + written) {
      hashed = inner.subarray(0, BLOCK + written);
    }
    // The inner digest as Latin-1 text, a character per byte: a short string costs less to make than a Buffer, which
    // has an ArrayBuffer of its own.
    const digest = hash('sha256', hashed, 'latin1');
    for (let i = 0; i < DIGEST; i++) outer[BLOCK + i] = digest.charCodeAt(i);
    return hash('sha256', outer, 'hex');
  };
}
