/**
 * Test helpers for tampering with signed Stacks transactions: a seeded PRNG, byte surgery on the serialized form,
 * re-signing after an edit, and the generator of the signature differential's samples (shared with the child
 * process that runs the differential on the noble backend).
 *
 * Layout of a single-sig origin, as serialized (offsets in bytes):
 *   version 0 | chain id 1..4 | auth type 5 | hash mode 6 | signer 7..26 | nonce 27..34 | fee 35..42
 *   | key encoding 43 | signature 44..108 (v 44, r 45..76, s 77..108) | sponsor condition 109..211 when sponsored
 */
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  AddressHashMode,
  AuthType,
  BytesReader,
  Cl,
  type ClarityValue,
  deserializeTransaction,
  hash160,
  makeContractCall,
  makeSTXTokenTransfer,
  Pc,
  type PostCondition,
  privateKeyToPublic,
  type StacksTransactionWire,
  sponsorTransaction,
  TransactionSigner,
} from '@stacks/transactions';

export const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const HALF_CURVE_ORDER = CURVE_ORDER / 2n;

export const AUTH_TYPE_OFFSET = 5;
export const HASH_MODE_OFFSET = 6;
export const SIGNER_OFFSET = 7;
export const NONCE_OFFSET = 27;
export const FEE_OFFSET = 35;
export const KEY_ENCODING_OFFSET = 43;
export const SIGNATURE_OFFSET = 44;
export const R_OFFSET = 45;
export const S_OFFSET = 77;
export const ORIGIN_END = 109;
export const SINGLE_SIG_CONDITION_LENGTH = 103;

/** mulberry32: a tiny seeded PRNG, enough to make tampering choices reproducible. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Convenience draws over a uniform [0, 1) source. */
export class Rng {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** A bigint below 2^bits. */
  bigint(bits: number): bigint {
    let value = 0n;
    for (let i = 0; i < bits; i++) value = (value << 1n) | (this.chance(0.5) ? 1n : 0n);
    return value;
  }
  /** A valid secp256k1 private key: 66 hex (compressed, suffix 01) or 64 hex (uncompressed). */
  privateKey(compressed: boolean): string {
    for (;;) {
      const scalar = BigInt(`0x${bytesToHex(this.bytes(32))}`);
      if (scalar === 0n || scalar >= CURVE_ORDER) continue;
      const hex = scalar.toString(16).padStart(64, '0');
      return compressed ? `${hex}01` : hex;
    }
  }
}

/** A copy of the hex with bit `bit` of byte `offset` flipped. */
export function flipBit(hex: string, offset: number, bit = 0): string {
  const bytes = hexToBytes(hex);
  if (offset < 0 || offset >= bytes.length) throw new RangeError(`offset ${offset} out of range`);
  bytes[offset]! ^= 1 << bit;
  return bytesToHex(bytes);
}

/** A copy of the hex with every bit of byte `offset` flipped. */
export function flipByte(hex: string, offset: number): string {
  const bytes = hexToBytes(hex);
  if (offset < 0 || offset >= bytes.length) throw new RangeError(`offset ${offset} out of range`);
  bytes[offset]! ^= 0xff;
  return bytesToHex(bytes);
}

/** A copy of the hex with `replacement` written at byte `offset`. */
export function overwrite(hex: string, offset: number, replacement: Uint8Array): string {
  const bytes = hexToBytes(hex);
  if (offset + replacement.length > bytes.length) throw new RangeError('overwrite out of range');
  bytes.set(replacement, offset);
  return bytesToHex(bytes);
}

/** The 65-byte VRS origin signature of a serialized single-sig transaction, as hex. */
export function originSignatureOf(hex: string): string {
  return hex.slice(SIGNATURE_OFFSET * 2, (SIGNATURE_OFFSET + 65) * 2);
}

/** s of a 65-byte VRS signature, as a bigint. */
export function sOf(signatureVrsHex: string): bigint {
  return BigInt(`0x${signatureVrsHex.slice(66, 130)}`);
}

/**
 * The high-S twin of a signed single-sig transaction: s becomes n − s, and the recovery id's parity flips when
 * `flipParity` (then the signature still recovers the same key, so it is valid but malleated).
 */
export function toHighS(hex: string, flipParity = true): string {
  const bytes = hexToBytes(hex);
  const s = BigInt(`0x${bytesToHex(bytes.subarray(S_OFFSET, S_OFFSET + 32))}`);
  const twin = CURVE_ORDER - s;
  bytes.set(hexToBytes(twin.toString(16).padStart(64, '0')), S_OFFSET);
  if (flipParity) bytes[SIGNATURE_OFFSET]! ^= 1;
  return bytesToHex(bytes);
}

/**
 * Deserializes, lets `edit` change the transaction, and signs the origin again with `key`, so the edit is covered by a
 * valid signature. Only for single-sig origins.
 */
export function resign(
  hex: string,
  key: string,
  edit: (tx: StacksTransactionWire) => void,
): string {
  const tx = deserializeTransaction(hex);
  edit(tx);
  new TransactionSigner(tx).signOrigin(key);
  return tx.serialize();
}

/** Turns a standard single-sig transaction into a sponsored one by inserting an empty sponsor slot, or back. */
export function toggleSponsored(hex: string): string {
  const bytes = hexToBytes(hex);
  if (bytes[AUTH_TYPE_OFFSET] === AuthType.Standard) {
    const out = new Uint8Array(bytes.length + SINGLE_SIG_CONDITION_LENGTH);
    out.set(bytes.subarray(0, ORIGIN_END), 0);
    out[AUTH_TYPE_OFFSET] = AuthType.Sponsored;
    // The zero-filled gap is the placeholder: P2PKH, zero signer, nonce, fee, compressed, empty signature.
    out.set(bytes.subarray(ORIGIN_END), ORIGIN_END + SINGLE_SIG_CONDITION_LENGTH);
    return bytesToHex(out);
  }
  const out = new Uint8Array(bytes.length - SINGLE_SIG_CONDITION_LENGTH);
  out.set(bytes.subarray(0, ORIGIN_END), 0);
  out[AUTH_TYPE_OFFSET] = AuthType.Standard;
  out.set(bytes.subarray(ORIGIN_END + SINGLE_SIG_CONDITION_LENGTH), ORIGIN_END);
  return bytesToHex(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Differential samples

/** A signed transaction the differential tampers with. */
export type Base = {
  readonly hex: string;
  /** The serialized length of everything up to the payload section (auth included). */
  readonly authEnd: number;
  readonly sponsored: boolean;
  readonly sponsorSigned: boolean;
  readonly describe: string;
};

export type Sample = { readonly hex: string; readonly kind: string; readonly base: string };

const PRINCIPALS = [
  'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
  'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
  'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
  'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
  'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5.vault',
] as const;
const CONTRACTS = [
  ['ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT', 'sbtc-token', 'sbtc-token'],
  ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM', 'usdcx', 'usdcx-token'],
  ['SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4', 'sbtc-token', 'sbtc-token'],
  ['ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT', 'other-token', 'other'],
] as const;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789:-_ ';

function randomText(rng: Rng, maxLength: number): string {
  let text = '';
  const length = rng.int(maxLength + 1);
  for (let i = 0; i < length; i++) text += LETTERS[rng.int(LETTERS.length)];
  return text;
}

function randomCounter(rng: Rng): bigint {
  // Mostly small, sometimes anywhere in u64: both halves of the 8-byte fields get exercised.
  return rng.chance(0.8) ? BigInt(rng.int(100_000)) : rng.bigint(64);
}

function randomPostConditions(rng: Rng, sender: string): PostCondition[] {
  const conditions: PostCondition[] = [];
  const count = rng.int(3);
  for (let i = 0; i < count; i++) {
    const principal = rng.chance(0.5) ? Pc.origin() : Pc.principal(sender);
    const amount = BigInt(rng.between(1, 1_000_000));
    const code = rng.pick(['eq', 'gte', 'lte'] as const);
    const step =
      code === 'eq'
        ? principal.willSendEq(amount)
        : code === 'gte'
          ? principal.willSendGte(amount)
          : principal.willSendLte(amount);
    if (rng.chance(0.3)) {
      conditions.push(step.ustx());
    } else {
      const [address, name, asset] = rng.pick(CONTRACTS);
      conditions.push(step.ft(`${address}.${name}`, asset));
    }
  }
  return conditions;
}

function randomCallArguments(rng: Rng, sender: string): ClarityValue[] {
  const args: ClarityValue[] = [
    Cl.uint(randomCounter(rng) + 1n),
    Cl.principal(sender),
    Cl.principal(rng.pick(PRINCIPALS)),
    rng.chance(0.5) ? Cl.none() : Cl.some(Cl.buffer(rng.bytes(rng.int(35)))),
  ];
  if (rng.chance(0.1)) args.push(Cl.int(rng.int(1000) - 500));
  return args;
}

/** Builds one random signed base transaction. */
export async function buildBase(rng: Rng): Promise<Base> {
  const compressed = rng.chance(0.7);
  const key = rng.privateKey(compressed);
  const network = rng.chance(0.75) ? 'testnet' : 'mainnet';
  const sponsored = rng.chance(0.5);
  const witness = compressed && rng.chance(0.15);
  const common = {
    senderKey: key,
    network,
    nonce: randomCounter(rng),
    fee: randomCounter(rng),
    sponsored,
  } as const;
  const sender = PRINCIPALS[2];
  const stx = rng.chance(0.5);
  let tx: StacksTransactionWire;
  if (stx) {
    const memo = randomText(rng, 34);
    tx = await makeSTXTokenTransfer({
      ...common,
      recipient: rng.pick(PRINCIPALS),
      amount: randomCounter(rng) + 1n,
      ...(memo === '' ? {} : { memo }),
    });
  } else {
    const [contractAddress, contractName] = rng.pick(CONTRACTS);
    tx = await makeContractCall({
      ...common,
      contractAddress,
      contractName,
      functionName: rng.chance(0.9) ? 'transfer' : 'get-balance',
      functionArgs: randomCallArguments(rng, sender),
      postConditionMode: rng.chance(0.7) ? 'deny' : 'allow',
      postConditions: randomPostConditions(rng, sender),
      validateWithAbi: false,
    });
  }
  let hex = tx.serialize();
  if (witness) {
    // Builders only make P2PKH origins: turn this one into P2WPKH and sign it again.
    const program = new Uint8Array(22);
    program[1] = 0x14;
    program.set(hash160(hexToBytes(privateKeyToPublic(key) as string)), 2);
    const signer = bytesToHex(hash160(program));
    hex = resign(hex, key, (edited) => {
      const condition = edited.auth.spendingCondition;
      condition.hashMode = AddressHashMode.P2WPKH;
      condition.signer = signer;
    });
  }
  let sponsorSigned = false;
  if (sponsored && rng.chance(0.5)) {
    const sponsorCompressed = rng.chance(0.7);
    const sponsorWitness = sponsorCompressed && rng.chance(0.2);
    const signed = await sponsorTransaction({
      transaction: deserializeTransaction(hex),
      sponsorPrivateKey: rng.privateKey(sponsorCompressed),
      fee: randomCounter(rng),
      sponsorNonce: randomCounter(rng),
      network,
      ...(sponsorWitness ? { sponsorAddressHashmode: AddressHashMode.P2WPKH } : {}),
    });
    hex = signed.serialize();
    sponsorSigned = true;
  }
  const describe = [
    stx ? 'stx-transfer' : 'contract-call',
    network,
    compressed ? 'compressed' : 'uncompressed',
    witness ? 'p2wpkh' : 'p2pkh',
    sponsored ? (sponsorSigned ? 'sponsor-signed' : 'sponsored') : 'standard',
  ].join('/');
  return {
    hex,
    authEnd: ORIGIN_END + (sponsored ? SINGLE_SIG_CONDITION_LENGTH : 0),
    sponsored,
    sponsorSigned,
    describe,
  };
}

/** Sponsor-condition variants per sponsored base: the origin signature ignores these fields, so they stay valid. */
export const SPONSOR_VARIANTS = 10;

/**
 * Derives tampered samples from one base. Every kind is produced a fixed number of times per base, so the share of
 * valid and invalid samples does not depend on the seed; `other` supplies a signature from a different transaction.
 */
export function tamper(base: Base, other: Base, rng: Rng): Sample[] {
  const { hex } = base;
  const length = hex.length / 2;
  const out: Sample[] = [];
  const add = (kind: string, sample: string) =>
    out.push({ kind, hex: sample, base: base.describe });
  const flipIn = (kind: string, from: number, to: number) =>
    add(kind, flipBit(hex, rng.between(from, to - 1), rng.int(8)));

  add('untampered', hex);
  add('high-s', toHighS(hex));
  add('high-s-same-v', toHighS(hex, false));
  for (let i = 0; i < 5; i++) flipIn('signature-bit', SIGNATURE_OFFSET, ORIGIN_END);
  for (let i = 0; i < 2; i++) flipIn('r-bit', R_OFFSET, S_OFFSET);
  for (let i = 0; i < 4; i++) flipIn('payload-bit', base.authEnd, length);
  flipIn('header-bit', 0, AUTH_TYPE_OFFSET);
  for (let i = 0; i < 2; i++) flipIn('nonce-bit', NONCE_OFFSET, FEE_OFFSET);
  for (let i = 0; i < 2; i++) flipIn('fee-bit', FEE_OFFSET, KEY_ENCODING_OFFSET);
  flipIn('signer-bit', SIGNER_OFFSET, NONCE_OFFSET);
  add('key-encoding', flipBit(hex, KEY_ENCODING_OFFSET, 0));
  for (let i = 0; i < 2; i++) {
    add('v', overwrite(hex, SIGNATURE_OFFSET, Uint8Array.of(rng.int(6))));
  }
  add(
    'swapped-signature',
    overwrite(hex, SIGNATURE_OFFSET, hexToBytes(originSignatureOf(other.hex))),
  );
  add('sponsor-toggle', toggleSponsored(hex));
  for (let i = 0; i < 2; i++) flipIn('any-bit', 0, length);
  if (base.sponsored) {
    // Sponsor signer, nonce, fee, key encoding and signature: bytes 110..211 (109 is the sponsor hash mode).
    for (let i = 0; i < SPONSOR_VARIANTS; i++) {
      flipIn('sponsor-field', ORIGIN_END + 1, ORIGIN_END + SINGLE_SIG_CONDITION_LENGTH);
    }
  }
  return out;
}

/** How a sample decodes: the reference only judges transactions whose bytes the library reads back exactly. */
export type Decoded =
  | { readonly status: 'ok'; readonly raw: Uint8Array; readonly tx: StacksTransactionWire }
  | { readonly status: 'throws' }
  | { readonly status: 'non-canonical' };

/**
 * Deserializes strictly. `deserializeTransaction` is lenient: a length prefix that overstates the bytes left is read
 * as a short slice, so the transaction it returns re-serializes to different bytes and `verifyOrigin()` (which hashes
 * the re-serialized form) judges bytes that are not the sample's. Those samples are `non-canonical`.
 */
export function decodeStrict(hex: string): Decoded {
  const raw = hexToBytes(hex);
  let tx: StacksTransactionWire;
  try {
    const reader = new BytesReader(raw);
    tx = deserializeTransaction(reader);
    if (reader.consumed !== raw.length) return { status: 'non-canonical' };
  } catch {
    return { status: 'throws' };
  }
  if (tx.serialize() !== hex) return { status: 'non-canonical' };
  return { status: 'ok', raw, tx };
}

/** The reference verdict: `verifyOrigin()` of @stacks/transactions does not throw. */
export function referenceValid(tx: StacksTransactionWire): boolean {
  try {
    tx.verifyOrigin();
    return true;
  } catch {
    return false;
  }
}
