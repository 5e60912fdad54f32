/**
 * SIP-018 structured data: the Stacks way to sign a Clarity value off chain, so that a wallet shows what is signed
 * and a contract can check the signature with `secp256k1-recover?`. The signed hash is
 * `sha256("SIP018" ‖ sha256(domain) ‖ sha256(message))`, each of `domain` and `message` hashed in its consensus
 * serialization. The domain (`name`, `version`, `chain-id`) keeps a signature made for one application and chain from
 * being accepted by another. Signatures are 65 bytes in RSV order, as wallets return them and as Clarity takes them.
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2';
import {
  type ClarityValue,
  serializeCVBytes,
  stringAsciiCV,
  tupleCV,
  uintCV,
} from '@stacks/transactions';
import { addressFromHash160, parseStacksAddress } from './address.js';
import { builtin } from './builtin.js';
import { fromHex, toHex } from './bytes.js';
import { recoverPublicKey, signHashRsv } from './secp256k1.js';
import { hashOf160, isHighS } from './signature.js';

/**
 * The SIP-018 domain: the application's name and version, and the chain id the signature is good for. A signature
 * verifies only under the very domain it was made for.
 * @example
 * ```ts
 * const domain: StructuredDataDomain = { name: 'my-app', version: '1', chainId: STACKS_NETWORKS.testnet.chainId };
 * const signature = signStructuredData(account.privateKey, domain, message);
 * ```
 */
export type StructuredDataDomain = {
  readonly name: string;
  readonly version: string;
  /** `1` on mainnet, `2147483648` (0x80000000) on testnet; see `STACKS_NETWORKS[…].chainId`. */
  readonly chainId: number | bigint;
};

/**
 * Why a structured-data signature was not accepted.
 * @example
 * ```ts
 * const verdict = verifyStructuredDataSignature(domain, message, signature, signer);
 * const problem: StructuredDataSignatureProblem | undefined = verdict.valid ? undefined : verdict.problem;
 * ```
 */
export type StructuredDataSignatureProblem =
  /** Not 65 bytes of hex, or a recovery id above 3. */
  | 'malformed_signature'
  /** S above half the curve order: a second, malleated form of some signature. Only the low-S form is accepted. */
  | 'high_s_signature'
  /** No key recovers from it, or the key it recovers is not the expected signer's. */
  | 'wrong_signer';

/**
 * The verdict of {@link verifyStructuredDataSignature}.
 * @example
 * ```ts
 * const verdict: StructuredDataSignatureVerdict = verifyStructuredDataSignature(domain, message, signature, signer);
 * if (!verdict.valid) console.log(verdict.problem); // e.g. 'wrong_signer'
 * ```
 */
export type StructuredDataSignatureVerdict =
  | { readonly valid: true }
  | { readonly valid: false; readonly problem: StructuredDataSignatureProblem };

const PREFIX = new Uint8Array([0x53, 0x49, 0x50, 0x30, 0x31, 0x38]); // "SIP018"

type NodeCrypto = {
  createHash(algorithm: 'sha256'): { update(data: Uint8Array): { digest(): Uint8Array } };
  /** One-shot hashing (Node 20.12 and later): no hash object per call. */
  hash?(algorithm: 'sha256', data: Uint8Array, encoding: 'buffer'): Uint8Array;
};
const nodeCrypto = builtin<NodeCrypto>('node:crypto');

/**
 * The domain as the Clarity tuple SIP-018 hashes: `{ name: string-ascii, version: string-ascii, chain-id: uint }`.
 * @example
 * ```ts
 * structuredDataDomainCV({ name: 'x402-stacks', version: '1', chainId: STACKS_NETWORKS.testnet.chainId });
 * ```
 */
export function structuredDataDomainCV(domain: StructuredDataDomain): ClarityValue {
  return tupleCV({
    name: stringAsciiCV(domain.name),
    version: stringAsciiCV(domain.version),
    'chain-id': uintCV(domain.chainId),
  });
}

/**
 * The 32-byte hash a SIP-018 signature signs: the same bytes a Clarity contract passes to `secp256k1-recover?`.
 * @example
 * ```ts
 * const hash = structuredDataHash(domain, tupleCV({ nonce: stringAsciiCV('k3v9…') }));
 * ```
 */
export function structuredDataHash(
  domain: StructuredDataDomain,
  message: ClarityValue,
): Uint8Array {
  return structuredDataHashOfBytes(domain, serializeCVBytes(message));
}

// A service signs and checks under one or two domains; each is serialized and hashed once.
const domainHashes = new Map<string, Uint8Array>();
const MAX_DOMAIN_HASHES = 64;

/**
 * {@link structuredDataHash} of a message already in its consensus serialization: for a hot path that builds the
 * bytes of a fixed-shape message itself (a batch-settlement voucher), checked against the Clarity value in tests.
 * @example
 * ```ts
 * structuredDataHashOfBytes(domain, serializeCVBytes(message)); // the same as structuredDataHash(domain, message)
 * ```
 */
export function structuredDataHashOfBytes(
  domain: StructuredDataDomain,
  message: Uint8Array,
): Uint8Array {
  const key = `${domain.name}\u0000${domain.version}\u0000${domain.chainId}`;
  let domainHash = domainHashes.get(key);
  if (!domainHash) {
    domainHash = sha256(serializeCVBytes(structuredDataDomainCV(domain)));
    if (domainHashes.size >= MAX_DOMAIN_HASHES) domainHashes.clear();
    domainHashes.set(key, domainHash);
  }
  const messageHash = sha256(message);
  const preimage = new Uint8Array(PREFIX.length + 64);
  preimage.set(PREFIX, 0);
  preimage.set(domainHash, PREFIX.length);
  preimage.set(messageHash, PREFIX.length + 32);
  return sha256(preimage);
}

/**
 * Signs `message` under `domain` with a private key (hex, 64 or 66 characters), returning the 65-byte RSV signature
 * as 130 hex characters, low-S, as a wallet's `stx_signStructuredMessage` would.
 * @example
 * ```ts
 * const signature = signStructuredData(account.privateKey, domain, message);
 * ```
 */
export function signStructuredData(
  privateKey: string,
  domain: StructuredDataDomain,
  message: ClarityValue,
): string {
  return signHashRsv(structuredDataHash(domain, message), privateKey);
}

/**
 * The hash160 of every public key that `signature` (RSV hex) recovers to over `hash`, compressed first: the signer's
 * address is the c32 form of one of them. Empty when the signature is malformed or recovers nothing.
 */
function signerHashes(hash: Uint8Array, signatureRsv: Uint8Array): Uint8Array[] {
  const vrs = new Uint8Array(65);
  vrs[0] = signatureRsv[64]!;
  vrs.set(signatureRsv.subarray(0, 64), 1);
  const hashes: Uint8Array[] = [];
  for (const compressed of [true, false]) {
    const key = recoverPublicKey(hash, vrs, compressed);
    if (key) hashes.push(hashOf160(key));
  }
  return hashes;
}

/**
 * Checks that `signature` (RSV hex, with or without `0x`) signs `message` under `domain` and was made by the key of
 * `signer`, a single-signature Stacks address (a multi-signature address cannot sign alone, so it never matches).
 * Nothing is thrown for a bad signature: it is a verdict with its problem. An invalid address throws
 * `InvalidAddressError`, since it is the caller's input, not the signer's.
 * @example
 * ```ts
 * const verdict = verifyStructuredDataSignature(domain, message, signature, payer);
 * if (!verdict.valid) refuse(verdict.problem); // 'malformed_signature' | 'high_s_signature' | 'wrong_signer'
 * ```
 */
export function verifyStructuredDataSignature(
  domain: StructuredDataDomain,
  message: ClarityValue,
  signature: string,
  signer: string,
): StructuredDataSignatureVerdict {
  const address = parseStacksAddress(signer);
  const hex = signature.startsWith('0x') ? signature.slice(2) : signature;
  if (!/^[0-9a-fA-F]{130}$/.test(hex)) return { valid: false, problem: 'malformed_signature' };
  const bytes = fromHex(hex);
  if (bytes[64]! > 3) return { valid: false, problem: 'malformed_signature' };
  // isHighS reads VRS hex; the S of an RSV signature sits at the same offset once V moves to the front.
  if (isHighS(`${hex.slice(128)}${hex.slice(0, 128)}`))
    return { valid: false, problem: 'high_s_signature' };
  if (address.multiSig) return { valid: false, problem: 'wrong_signer' };
  const expected = address.hash160;
  const hash = structuredDataHash(domain, message);
  const matches = signerHashes(hash, bytes).some((candidate) => toHex(candidate) === expected);
  return matches ? { valid: true } : { valid: false, problem: 'wrong_signer' };
}

/**
 * The standard principal whose key made a SIP-018 `signature` over a 32-byte `hash`, exactly as a contract finds it
 * with `(principal-of? (unwrap! (secp256k1-recover? hash signature) …))`: the compressed key is recovered, a high-S
 * signature is accepted like its low-S twin (Clarity does not refuse it), and the address takes `addressVersion`
 * (the single-signature version of the chain the contract runs on). Undefined when the signature is not 65 bytes,
 * has a recovery id above 3 or recovers no key. For checking a payer's signature off chain, prefer
 * {@link verifyStructuredDataSignature}, which refuses high-S forms; this one answers what a contract would accept.
 * @example
 * ```ts
 * const hash = structuredDataHash(domain, message);
 * const signer = recoverStructuredDataSigner(hash, signature, STACKS_NETWORKS.testnet.addressVersion.singleSig);
 * ```
 */
export function recoverStructuredDataSigner(
  hash: Uint8Array,
  signature: Uint8Array,
  addressVersion: number,
): string | undefined {
  if (hash.length !== 32 || signature.length !== 65 || signature[64]! > 3) return undefined;
  const vrs = new Uint8Array(65);
  vrs[0] = signature[64]!;
  vrs.set(signature.subarray(0, 64), 1);
  const key = recoverPublicKey(hash, vrs, true);
  return key ? addressFromHash160(addressVersion, toHex(hashOf160(key))) : undefined;
}

function sha256(data: Uint8Array): Uint8Array {
  if (nodeCrypto?.hash) return nodeCrypto.hash('sha256', data, 'buffer');
  return nodeCrypto ? nodeCrypto.createHash('sha256').update(data).digest() : nobleSha256(data);
}
