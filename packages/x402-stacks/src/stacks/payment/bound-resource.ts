/**
 * The form in which a settlement records the resource it paid for, and in which a seller compares its route with it.
 * A URL up to {@link MAX_BOUND_RESOURCE_LENGTH} characters is kept as it is; a longer one by its SHA-256, so a long
 * route is still bound to exactly itself (never to a cut prefix another route might share) and a ledger row stays
 * small. Facilitator and seller both call this, so they always agree on the form.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2';
import { toHex } from '../bytes.js';

/**
 * The longest resource URL recorded as it is. A longer one is recorded by its SHA-256 (`boundResource`).
 * @example
 * ```ts
 * const hashed = url.length > MAX_BOUND_RESOURCE_LENGTH; // then boundResource(url) is 'sha256:<hex>'
 * ```
 */
export const MAX_BOUND_RESOURCE_LENGTH = 2048;

const encoder = new TextEncoder();

/**
 * The recorded form of a resource URL: the URL itself, or `sha256:<hex>` of its UTF-8 bytes when it is longer than
 * {@link MAX_BOUND_RESOURCE_LENGTH} characters.
 * @example
 * ```ts
 * boundResource('https://api.example.com/weather'); // 'https://api.example.com/weather'
 * boundResource(`https://api.example.com/${'x'.repeat(5000)}`); // 'sha256:9f2c…'
 * ```
 */
export function boundResource(url: string): string {
  if (url.length <= MAX_BOUND_RESOURCE_LENGTH) return url;
  return `sha256:${toHex(sha256(encoder.encode(url)))}`;
}
