/**
 * Fast origin-signature verification for Stacks transactions.
 *
 * `StacksTransactionWire.verifyOrigin()` deep-clones the transaction, re-serializes it and recovers the public key with
 * pure-JS secp256k1: about 1 ms. Here the initial sighash is built by zeroing the spending-condition fields in the raw
 * bytes (the same bytes the library would serialize), and the key is recovered with libsecp256k1 (the `secp256k1`
 * package's native binding) when it loads, falling back to noble (through @stacks/transactions) when it does not.
 * A differential test holds the verdicts equal to `verifyOrigin()`'s on every transaction that re-serializes to its own
 * bytes. (On one that does not, such as a memo that is not UTF-8, `verifyOrigin()` judges different bytes than the node
 * hashes; `checkPaymentTransaction` refuses those before this point.)
 * @module
 */
import {
  AddressHashMode,
  AuthType,
  hash160,
  PubKeyEncoding,
  type SpendingCondition,
  type StacksTransactionWire,
  StacksWireType,
  serializeSpendingConditionBytes,
  txidFromBytes,
} from '@stacks/transactions';
import { builtin } from './builtin.js';
import { bytesEqual, fromHex, toHex } from './bytes.js';
import { recoverPublicKey } from './secp256k1.js';

/**
 * The verdict on a spending condition's signature. `nextSigHash` is the sighash the next signer (the sponsor, after
 * the origin) signs over; it is set when the signature is valid.
 * @example
 * ```ts
 * const verdict: OriginSignatureVerdict = verifyOriginSignature(raw, deserializeTransaction(raw));
 * if (verdict.valid && verdict.highS) refuse('the node would refuse a high-S signature');
 * ```
 */
export type OriginSignatureVerdict = {
  readonly valid: boolean;
  readonly highS: boolean;
  readonly nextSigHash?: Uint8Array;
};

type NodeCrypto = {
  createHash(algorithm: string): { update(data: Uint8Array): { digest(): Uint8Array } };
  /**
   * One-shot hashing (Node 20.12 and later): no hash object per call, which cost more than the hashing of a
   * transaction's few hundred bytes. Hex comes straight from it, without a buffer in between.
   */
  hash?: {
    (algorithm: string, data: Uint8Array, encoding: 'buffer'): Uint8Array;
    (algorithm: string, data: Uint8Array, encoding: 'hex'): string;
  };
};

// Serialized layout of a transaction up to the end of a single-sig origin condition:
// version(1) chain id(4) auth type(1) | hash mode(1) signer(20) nonce(8) fee(8) key encoding(1) signature(65)
const CONDITION_OFFSET = 6;
const SIGNER_OFFSET = CONDITION_OFFSET + 1;
const NONCE_OFFSET = SIGNER_OFFSET + 20;
const FEE_OFFSET = NONCE_OFFSET + 8;
const KEY_ENCODING_OFFSET = FEE_OFFSET + 8;
const SIGNATURE_OFFSET = KEY_ENCODING_OFFSET + 1;
const SINGLE_SIG_CONDITION_LENGTH = 1 + 20 + 8 + 8 + 1 + 65;
const HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

const nodeCrypto = loadNodeCrypto();

/**
 * Verifies the origin signature of a deserialized transaction against its raw bytes, and reports whether any origin
 * signature has a high S value (which the node refuses as malleable, even when the signature is otherwise valid).
 *
 * @param raw The exact serialized bytes `tx` was deserialized from.
 * @example
 * ```ts
 * const raw = hexToBytes(hex);
 * const verdict = verifyOriginSignature(raw, deserializeTransaction(raw));
 * if (!verdict.valid) … // 'invalid_exact_stacks_payload_signature'
 * ```
 */
export function verifyOriginSignature(
  raw: Uint8Array,
  tx: StacksTransactionWire,
): OriginSignatureVerdict {
  const condition = tx.auth.spendingCondition;
  if (!('signature' in condition)) {
    // Multisig origins are rare in payments; the library's own walk over the fields is correct and fast enough.
    const highS = condition.fields.some(
      (field) =>
        field.contents.type === StacksWireType.MessageSignature && isHighS(field.contents.data),
    );
    try {
      return { valid: true, highS, nextSigHash: fromHex(tx.verifyOrigin()) };
    } catch {
      return { valid: false, highS };
    }
  }

  const highS = isHighS(condition.signature.data);
  const initialSigHash = sha512_256(initialSigHashBytes(raw, tx));
  const preSign = new Uint8Array(32 + 1 + 8 + 8);
  preSign.set(initialSigHash, 0);
  // The origin always signs with the standard flag, even in a sponsored transaction.
  preSign[32] = AuthType.Standard;
  preSign.set(raw.subarray(FEE_OFFSET, FEE_OFFSET + 8), 33);
  preSign.set(raw.subarray(NONCE_OFFSET, NONCE_OFFSET + 8), 41);
  return verifySingleSig(
    sha512_256(preSign),
    raw.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + 65),
    raw[KEY_ENCODING_OFFSET] === PubKeyEncoding.Compressed,
    condition.hashMode === AddressHashMode.P2PKH,
    raw.subarray(SIGNER_OFFSET, SIGNER_OFFSET + 20),
    highS,
  );
}

/**
 * Verifies the sponsor's signature of a sponsored transaction: the sponsor signs over the sighash that follows the
 * origin's signature, with the sponsored flag and its own fee and nonce. An unsigned sponsor slot is not valid.
 * Single-sig sponsors only (a multisig sponsor is reported invalid).
 *
 * @param raw The exact serialized bytes `tx` was deserialized from.
 * @example
 * ```ts
 * const raw = hexToBytes(sponsoredHex);
 * verifySponsorSignature(raw, deserializeTransaction(raw)).valid; // true once the sponsor has signed
 * ```
 */
export function verifySponsorSignature(
  raw: Uint8Array,
  tx: StacksTransactionWire,
): OriginSignatureVerdict {
  const { auth } = tx;
  if (auth.authType !== AuthType.Sponsored) return { valid: false, highS: false };
  const sponsor = auth.sponsorSpendingCondition;
  if (!('signature' in sponsor)) return { valid: false, highS: false };
  const highS = isHighS(sponsor.signature.data);
  const origin = verifyOriginSignature(raw, tx);
  if (!origin.valid || !origin.nextSigHash) return { valid: false, highS };
  const preSign = new Uint8Array(32 + 1 + 8 + 8);
  preSign.set(origin.nextSigHash, 0);
  preSign[32] = AuthType.Sponsored;
  writeU64(preSign, 33, sponsor.fee);
  writeU64(preSign, 41, sponsor.nonce);
  return verifySingleSig(
    sha512_256(preSign),
    fromHex(sponsor.signature.data),
    sponsor.keyEncoding === PubKeyEncoding.Compressed,
    sponsor.hashMode === AddressHashMode.P2PKH,
    fromHex(sponsor.signer),
    highS,
  );
}

/** Recovers the signer of one single-sig condition and derives the sighash the next signer signs over. */
function verifySingleSig(
  preSignHash: Uint8Array,
  signatureVrs: Uint8Array,
  compressed: boolean,
  payToPublicKeyHash: boolean,
  expectedSigner: Uint8Array,
  highS: boolean,
): OriginSignatureVerdict {
  const publicKey = recoverPublicKey(preSignHash, signatureVrs, compressed);
  if (!publicKey) return { valid: false, highS };
  let signer: Uint8Array;
  if (payToPublicKeyHash) {
    signer = hashOf160(publicKey);
  } else {
    // P2WPKH commits to a witness program over a compressed key only.
    if (!compressed) return { valid: false, highS };
    const program = new Uint8Array(22);
    program[0] = 0x00;
    program[1] = 0x14;
    program.set(hashOf160(publicKey), 2);
    signer = hashOf160(program);
  }
  if (!bytesEqual(signer, expectedSigner)) return { valid: false, highS };
  const postSign = new Uint8Array(32 + 1 + 65);
  postSign.set(preSignHash, 0);
  postSign[32] = compressed ? PubKeyEncoding.Compressed : PubKeyEncoding.Uncompressed;
  postSign.set(signatureVrs, 33);
  return { valid: true, highS, nextSigHash: sha512_256(postSign) };
}

function writeU64(out: Uint8Array, offset: number, value: bigint): void {
  for (let i = 7; i >= 0; i--) {
    out[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

/**
 * Whether a 65-byte VRS signature (hex) has S above half the curve order.
 * @example
 * ```ts
 * isHighS(tx.auth.spendingCondition.signature.data); // false for anything @stacks/transactions signed
 * ```
 */
export function isHighS(signatureVrsHex: string): boolean {
  if (signatureVrsHex.length !== 130) return false;
  return BigInt(`0x${signatureVrsHex.slice(66)}`) > HALF_CURVE_ORDER;
}

/**
 * The sha512/256 transaction id of raw transaction bytes, lower-case hex without `0x`.
 * @example
 * ```ts
 * transactionIdOf(hexToBytes(hex)); // '282b2208…'
 * ```
 */
export function transactionIdOf(raw: Uint8Array): string {
  if (nodeCrypto?.hash) return nodeCrypto.hash('sha512-256', raw, 'hex');
  return nodeCrypto ? toHex(sha512_256(raw)) : txidFromBytes(raw);
}

/**
 * The bytes whose hash is the initial sighash: the transaction with the origin's nonce, fee and signature zeroed, and
 * (when sponsored) the sponsor condition replaced by the all-zero single-sig placeholder.
 */
function initialSigHashBytes(raw: Uint8Array, tx: StacksTransactionWire): Uint8Array {
  const { auth } = tx;
  const sponsored = auth.authType === AuthType.Sponsored;
  const sponsorLength = sponsored ? sponsorConditionLength(auth.sponsorSpendingCondition) : 0;
  const restOffset = CONDITION_OFFSET + SINGLE_SIG_CONDITION_LENGTH + sponsorLength;
  const placeholderLength = sponsored ? SINGLE_SIG_CONDITION_LENGTH : 0;
  const out = new Uint8Array(raw.length - sponsorLength + placeholderLength);
  out.set(raw.subarray(0, NONCE_OFFSET), 0);
  out[KEY_ENCODING_OFFSET] = raw[KEY_ENCODING_OFFSET]!;
  // Nonce, fee, signature and the whole sponsor placeholder stay zero: a fresh array is zero-filled.
  out.set(
    raw.subarray(restOffset),
    CONDITION_OFFSET + SINGLE_SIG_CONDITION_LENGTH + placeholderLength,
  );
  return out;
}

function sponsorConditionLength(condition: SpendingCondition): number {
  return 'signature' in condition
    ? SINGLE_SIG_CONDITION_LENGTH
    : serializeSpendingConditionBytes(condition).length;
}

function sha512_256(data: Uint8Array): Uint8Array {
  if (nodeCrypto?.hash) return nodeCrypto.hash('sha512-256', data, 'buffer');
  if (nodeCrypto) return nodeCrypto.createHash('sha512-256').update(data).digest();
  return fromHex(txidFromBytes(data));
}

/** hash160 (ripemd160 of sha256) of `data`: a Stacks address's hash of a public key. Internal to the `stacks` layer. */
export function hashOf160(data: Uint8Array): Uint8Array {
  if (nodeCrypto?.hash)
    return nodeCrypto.hash('ripemd160', nodeCrypto.hash('sha256', data, 'buffer'), 'buffer');
  if (nodeCrypto) {
    const sha = nodeCrypto.createHash('sha256').update(data).digest();
    return nodeCrypto.createHash('ripemd160').update(sha).digest();
  }
  return hash160(data);
}

function loadNodeCrypto(): NodeCrypto | undefined {
  const crypto = builtin<NodeCrypto>('node:crypto');
  if (!crypto) return undefined;
  // A runtime that imitates node:crypto (Deno, Bun) may lack a digest, or answer differently: each way of hashing is
  // used only when it gives the pure JavaScript hash's answer, and the one-shot `hash` only in both its encodings.
  const probe = new Uint8Array([0x78, 0x34, 0x30, 0x32]);
  const expected = txidFromBytes(probe);
  try {
    crypto.createHash('ripemd160');
    if (toHex(crypto.createHash('sha512-256').update(probe).digest()) !== expected)
      return undefined;
  } catch {
    return undefined;
  }
  try {
    if (
      crypto.hash?.('sha512-256', probe, 'hex') === expected &&
      toHex(crypto.hash('sha512-256', probe, 'buffer')) === expected &&
      crypto.hash('ripemd160', probe, 'buffer').length === 20
    )
      return crypto;
  } catch {
    // falls through to the hash objects
  }
  return { createHash: crypto.createHash.bind(crypto) };
}
