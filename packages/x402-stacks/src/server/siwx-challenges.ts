/**
 * The seller's sign-in challenges. A nonce is 32 hex characters: 16 random, then 16 of an HMAC (keyed by the seller's
 * secret) over the random part and every other field of the challenge. So the seller keeps nothing per 402 (a script
 * asking for challenges in a loop costs it no memory), yet knows a nonce it issued from one it did not, and a proof
 * that changed the expiry, the domain or the resource of its challenge no longer matches its nonce.
 * @module
 */
import type { SiwxInfo } from '../extensions/sign-in-with-x/schema.js';
import { toHex } from '../stacks/bytes.js';
import { keyedHmacSha256 } from './hmac-sha256.js';
import { createIsoTime } from './iso-time.js';
import { jsonHole, jsonWithHoles } from './json-holes.js';

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
  /**
   * A writer of fresh challenges for `uri` as JSON text: each call is what `JSON.stringify(issue(uri))` would give,
   * with the fields that never change for `uri` serialized once, here, and only the nonce and the times written per
   * call (a 402 with sign-in is answered many times a second).
   */
  writer(uri: string): () => string;
  /** Whether this seller (this secret) issued the challenge as echoed, every bound field unchanged. */
  issued(fields: ChallengeFields): boolean;
};

const RANDOM_HEX = 16;

/**
 * Random hex drawn from a pool: 512 bytes from the system at a time, written as hex once. Asking the system for 8
 * bytes on every 402, and writing each as hex, cost more than the rest of the challenge together. Each character is
 * handed out once (the offset only moves forward); the bytes are zeroed once written, so only the hex text holds them
 * until the next refill drops it. They become a nonce's public half anyway.
 */
const pool = new Uint8Array(512);
let hexPool = '';
let hexOffset = 0;
function randomHex(bytes: number): string {
  const length = bytes * 2;
  if (hexOffset + length > hexPool.length) {
    globalThis.crypto.getRandomValues(pool);
    hexPool = toHex(pool);
    pool.fill(0);
    hexOffset = 0;
  }
  const hex = hexPool.slice(hexOffset, hexOffset + length);
  hexOffset += length;
  return hex;
}

// Where the per-call strings go in a challenge writer's texts.
const RANDOM_HOLE = jsonHole('random');
const ISSUED_HOLE = jsonHole('issuedAt');
const EXPIRY_HOLE = jsonHole('expirationTime');
const NONCE_HOLE = jsonHole('nonce');

export function createSiwxChallenges(options: {
  readonly secret: Uint8Array;
  readonly domain: string;
  readonly ttlMs: number;
  readonly statement: string | undefined;
  readonly clock: () => number;
}): SiwxChallenges {
  const { secret, domain, ttlMs, statement, clock } = options;

  // Two formatters: each keeps its own last second, and issuedAt and expirationTime are in different seconds.
  const issuedIso = createIsoTime();
  const expiryIso = createIsoTime();

  // What a nonce's tag is the MAC of, as JSON: a fixed-order array, so no field can bleed into the next, and absent
  // differs from empty.
  const boundFields = (random: string, fields: Omit<ChallengeFields, 'nonce'>) => [
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
  ];
  const mac = keyedHmacSha256(secret);
  const tagOf = (bound: string) => mac(bound).slice(0, RANDOM_HEX);
  /** The fields of a challenge for `uri` at these times, all but its nonce. */
  const fieldsAt = (uri: string, issuedAt: string, expirationTime: string) => ({
    domain,
    uri,
    version: '1',
    issuedAt,
    expirationTime,
    ...(statement === undefined ? {} : { statement }),
  });

  const issue = (uri: string): SiwxInfo => {
    const now = clock();
    const random = randomHex(RANDOM_HEX / 2);
    const fields = fieldsAt(uri, issuedIso(now), expiryIso(now + ttlMs));
    return { ...fields, nonce: `${random}${tagOf(JSON.stringify(boundFields(random, fields)))}` };
  };

  return {
    issue,
    writer(uri) {
      // The same texts as issue's, serialized once with holes for the random half, the times and the nonce.
      const holed = fieldsAt(uri, ISSUED_HOLE, EXPIRY_HOLE);
      const writeBound = jsonWithHoles(boundFields(RANDOM_HOLE, holed), [
        RANDOM_HOLE,
        ISSUED_HOLE,
        EXPIRY_HOLE,
      ]);
      const writeInfo = jsonWithHoles({ ...holed, nonce: NONCE_HOLE }, [
        ISSUED_HOLE,
        EXPIRY_HOLE,
        NONCE_HOLE,
      ]);
      // A uri or statement holding a hole's marker (a NUL) cannot be spliced: serialized whole, as issue does.
      if (!writeBound || !writeInfo) return () => JSON.stringify(issue(uri));
      return () => {
        const now = clock();
        const random = randomHex(RANDOM_HEX / 2);
        const issuedAt = issuedIso(now);
        const expirationTime = expiryIso(now + ttlMs);
        const tag = tagOf(writeBound(random, issuedAt, expirationTime));
        return writeInfo(issuedAt, expirationTime, `${random}${tag}`);
      };
    },
    issued(fields) {
      const { nonce } = fields;
      if (!/^[0-9a-f]{32}$/.test(nonce)) return false;
      // Our challenges always expire; one without an expiry is not ours, whatever its tag.
      if (fields.expirationTime === undefined) return false;
      return sameText(
        nonce.slice(RANDOM_HEX),
        tagOf(JSON.stringify(boundFields(nonce.slice(0, RANDOM_HEX), fields))),
      );
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
