/**
 * secp256k1 for the whole library: libsecp256k1 (the optional `secp256k1` package's native binding) when it loads,
 * else noble through @stacks/transactions. Recovering a key and signing a hash are the two operations on the hot
 * paths (a facilitator recovers every payment's signer, a buyer signs every voucher), and the native binding does
 * both in a fraction of noble's time. `X402_STACKS_DISABLE_NATIVE_SECP256K1=1` forces noble.
 * @module
 */
import {
  PubKeyEncoding,
  publicKeyFromSignatureVrs,
  signMessageHashRsv,
} from '@stacks/transactions';
import { builtin } from './builtin.js';
import { fromHex, toHex } from './bytes.js';

/**
 * Which secp256k1 implementation recovers public keys and signs in this process.
 * @example
 * ```ts
 * const backend: Secp256k1Backend = secp256k1Backend;
 * if (backend === 'noble') console.warn('the native secp256k1 binding did not load: signatures are slower');
 * ```
 */
export type Secp256k1Backend = 'libsecp256k1' | 'noble';

type NativeSecp256k1 = {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

const native = loadNativeSecp256k1();

/**
 * The secp256k1 implementation in use: `'libsecp256k1'` when the optional native `secp256k1` package loaded,
 * otherwise `'noble'`.
 * @example
 * ```ts
 * import { secp256k1Backend } from 'x402-stacks/stacks';
 * console.log(secp256k1Backend); // 'libsecp256k1'
 * ```
 */
export const secp256k1Backend: Secp256k1Backend = native ? 'libsecp256k1' : 'noble';

/**
 * Recovers the public key that made a 65-byte VRS signature over a 32-byte hash, or undefined when none can be
 * recovered. Internal to the `stacks` layer (not re-exported): transaction signatures and SIP-018 signatures share it.
 */
export function recoverPublicKey(
  messageHash: Uint8Array,
  signatureVrs: Uint8Array,
  compressed: boolean,
): Uint8Array | undefined {
  const recoveryId = signatureVrs[0]!;
  if (recoveryId > 3) return undefined;
  try {
    if (native) {
      return native.ecdsaRecover(signatureVrs.subarray(1), recoveryId, messageHash, compressed);
    }
    const hex = publicKeyFromSignatureVrs(
      toHex(messageHash),
      toHex(signatureVrs),
      compressed ? PubKeyEncoding.Compressed : PubKeyEncoding.Uncompressed,
    );
    return fromHex(hex);
  } catch {
    return undefined;
  }
}

/**
 * Signs a 32-byte hash with a private key (hex, 64 characters, or 66 with the compressed-key suffix), returning the
 * 65-byte RSV signature as hex. Both backends sign deterministically (RFC 6979, low-S), so they give the same bytes;
 * libsecp256k1 does it in a tenth of the time, which matters to a buyer signing a voucher per request. Internal to
 * the `stacks` layer (not re-exported).
 */
export function signHashRsv(messageHash: Uint8Array, privateKey: string): string {
  if (native) {
    const key = fromHex(privateKey.slice(0, 64));
    try {
      const { signature, recid } = native.ecdsaSign(messageHash, key);
      const rsv = new Uint8Array(65);
      rsv.set(signature, 0);
      rsv[64] = recid;
      return toHex(rsv);
    } finally {
      key.fill(0);
    }
  }
  return signMessageHashRsv({ messageHash: toHex(messageHash), privateKey });
}

function loadNativeSecp256k1(): NativeSecp256k1 | undefined {
  if (
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
      ?.X402_STACKS_DISABLE_NATIVE_SECP256K1 === '1'
  ) {
    return undefined;
  }
  const moduleApi = builtin<{ createRequire(from: string): (id: string) => unknown }>(
    'node:module',
  );
  if (!moduleApi) return undefined;
  try {
    // The package's `bindings` entry loads only the prebuilt libsecp256k1 (its main entry would silently fall back
    // to elliptic, which is slower than noble).
    return moduleApi.createRequire(import.meta.url)('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    return undefined;
  }
}
