/**
 * The seller's sign-in challenges. A nonce is 32 hex characters: 16 random, then 16 of an HMAC (keyed by the seller's
 * secret) over the random part and every other field of the challenge. So the seller keeps nothing per 402 (a script
 * asking for challenges in a loop costs it no memory), yet knows a nonce it issued from one it did not, and a proof
 * that changed the expiry, the domain or the resource of its challenge no longer matches its nonce.
 * @module
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import type { SiwxInfo } from '../extensions/sign-in-with-x/schema.js';
import { builtin } from '../stacks/builtin.js';
import { toHex } from '../stacks/bytes.js';

/** The fields of an echoed challenge that its nonce binds. */
type ChallengeFields = Pick<
  SiwxInfo,
  | 'domain'
  | 'uri'
  | 'version'
  | 'nonce'
  | 'issuedAt'
  | 'expirationTime'
  | 'notBefore'
  | 'statement'
  | 'requestId'
  | 'resources'
>;

/** Issues challenges and recognizes them. */
export type SiwxChallenges = {
  /** A fresh challenge for `uri`. */
  issue(uri: string): SiwxInfo;
  /** Whether this seller (this secret) issued the challenge as echoed, every bound field unchanged. */
  issued(fields: ChallengeFields): boolean;
};

const RANDOM_HEX = 16;

type NodeCrypto = {
  createHmac(
    algorithm: 'sha256',
    key: Uint8Array,
  ): { update(data: string | Uint8Array): { digest(encoding: 'hex'): string } };
};
const nodeCrypto = builtin<NodeCrypto>('node:crypto');
const encoder = new TextEncoder();

/**
 * Random bytes drawn from a pool refilled 512 bytes at a time: asking the system for 8 bytes on every 402 cost more
 * than the rest of the challenge together.
 */
const pool = new Uint8Array(512);
let poolOffset = pool.length;
function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const hex = toHex(pool.subarray(poolOffset, poolOffset + bytes));
  // Each byte is handed out once: zeroed as it leaves, so no later reader of the pool could see it again.
  pool.fill(0, poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

export function createSiwxChallenges(options: {
  readonly secret: Uint8Array;
  readonly domain: string;
  readonly ttlMs: number;
  readonly statement: string | undefined;
  readonly clock: () => number;
}): SiwxChallenges {
  const { secret, domain, ttlMs, statement, clock } = options;

  const tagOf = (random: string, fields: Omit<ChallengeFields, 'nonce'>) => {
    // JSON of a fixed-order array: no field can bleed into the next, and absent differs from empty.
    const bound = JSON.stringify([
      random,
      fields.domain,
      fields.uri,
      fields.version,
      fields.issuedAt,
      fields.expirationTime ?? null,
      fields.notBefore ?? null,
      fields.statement ?? null,
      fields.requestId ?? null,
      fields.resources ?? null,
    ]);
    // Node's HMAC is a few times faster than the portable one, and this runs on every 402.
    const tag = nodeCrypto
      ? nodeCrypto.createHmac('sha256', secret).update(bound).digest('hex')
      : toHex(hmac(sha256, secret, encoder.encode(bound)));
    return tag.slice(0, RANDOM_HEX);
  };

  return {
    issue(uri) {
      const now = clock();
      const random = randomHex(RANDOM_HEX / 2);
      const fields = {
        domain,
        uri,
        version: '1',
        issuedAt: new Date(now).toISOString(),
        expirationTime: new Date(now + ttlMs).toISOString(),
        ...(statement === undefined ? {} : { statement }),
      };
      return { ...fields, nonce: `${random}${tagOf(random, fields)}` };
    },
    issued(fields) {
      const { nonce } = fields;
      if (!/^[0-9a-f]{32}$/.test(nonce)) return false;
      // Our challenges always expire; one without an expiry is not ours, whatever its tag.
      if (fields.expirationTime === undefined) return false;
      return sameText(nonce.slice(RANDOM_HEX), tagOf(nonce.slice(0, RANDOM_HEX), fields));
    },
  };
}

/** Compares two equal-length strings without stopping at the first difference. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) {
    difference |= a.charCodeAt(index) ^ b.charCodeAt(index);
  }
  return difference === 0;
}
