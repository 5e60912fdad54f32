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
import { type JsonSlot, jsonSlot, jsonSlots } from './json-slots.js';

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

/**
 * Fresh challenges for one URI, as the values that change between them: a 402 with sign-in is answered many times a
 * second, and all else in it is the same for the URI, so it is serialized once with {@link JsonSlot}s for these.
 */
export type SiwxChallengeWriter = {
  /** The challenge for the URI with the marker of a slot in place of each value that changes: see `slots`. */
  readonly template: SiwxInfo;
  /** The slots of `issuedAt`, `expirationTime` and `nonce` in `template`, as wide as their values nearly always are. */
  readonly slots: readonly JsonSlot[];
  /** A fresh challenge's `issuedAt`, `expirationTime` and `nonce`, in the order of `slots`. */
  next(): readonly string[];
  /** The challenge those values make: `template` with each marker replaced, as `issue` gives it. */
  infoOf(values: readonly string[]): SiwxInfo;
};

/** Issues challenges and recognizes them. */
export type SiwxChallenges = {
  /** A fresh challenge for `uri`. */
  issue(uri: string): SiwxInfo;
  /** A writer of fresh challenges for `uri`, for a template of the 402 around them: see {@link SiwxChallengeWriter}. */
  writer(uri: string): SiwxChallengeWriter;
  /** Whether this seller (this secret) issued the challenge as echoed, every bound field unchanged. */
  issued(fields: ChallengeFields): boolean;
};

const RANDOM_HEX = 16;

/**
 * Random hex drawn from a pool: 4,096 bytes from the system at a time (512 nonces), written as hex once. Asking the
 * system for 8 bytes on every 402, and writing each as hex, cost more than the rest of the challenge together; a call
 * costs about the same for 16 bytes as for 4,096, and the refill of a smaller pool still showed on a busy seller's
 * profile. Each character is handed out once (the offset only moves forward); the bytes are zeroed once written, so
 * only the hex text holds them until the next refill drops it. They become a nonce's public half anyway.
 */
const pool = new Uint8Array(4_096);
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

// Where the per-call strings go in a challenge writer's texts: ISO-8601 times of years 1970 to 9999, and the nonce's
// halves. A time of another width (a clock far off) is written through `issue`'s path instead.
const ISO_WIDTH = 24;
const RANDOM_SLOT = jsonSlot('random', RANDOM_HEX);
const ISSUED_SLOT = jsonSlot('issuedAt', ISO_WIDTH);
const EXPIRY_SLOT = jsonSlot('expirationTime', ISO_WIDTH);
const NONCE_SLOT = jsonSlot('nonce', RANDOM_HEX * 2);

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
  const tagOf = (bound: string | Uint8Array) => mac(bound).slice(0, RANDOM_HEX);
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
      const template = {
        ...fieldsAt(uri, ISSUED_SLOT.marker, EXPIRY_SLOT.marker),
        nonce: NONCE_SLOT.marker,
      };
      // The MAC's text as issue serializes it, once, as bytes with slots for the random half and the times. A uri or
      // statement holding a slot's marker (a NUL) cannot be slotted: its tags are computed as issue computes them.
      const bound = jsonSlots(JSON.stringify(boundFields(RANDOM_SLOT.marker, template)), [
        RANDOM_SLOT,
        ISSUED_SLOT,
        EXPIRY_SLOT,
      ]);
      return {
        template,
        slots: [ISSUED_SLOT, EXPIRY_SLOT, NONCE_SLOT],
        next() {
          const now = clock();
          const random = randomHex(RANDOM_HEX / 2);
          const issuedAt = issuedIso(now);
          const expirationTime = expiryIso(now + ttlMs);
          const values = [random, issuedAt, expirationTime];
          const tag = bound?.fill(values)
            ? tagOf(bound.bytes)
            : tagOf(JSON.stringify(boundFields(random, fieldsAt(uri, issuedAt, expirationTime))));
          return [issuedAt, expirationTime, `${random}${tag}`];
        },
        infoOf: ([issuedAt, expirationTime, nonce]) => ({
          ...template,
          issuedAt: issuedAt!,
          expirationTime: expirationTime!,
          nonce: nonce!,
        }),
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
