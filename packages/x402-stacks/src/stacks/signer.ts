/**
 * Signers: what signs a payment's origin. The payer builds the unsigned transaction and asks its signer for the
 * signature over the transaction's sighash; a private key in this process is one signer, a key in another process
 * (`socketSigner`, node only) or a wallet is another. The signature is checked against the signer's public key
 * before it is used, so a faulty signer cannot produce a payment the facilitator would refuse late.
 * @module
 */
import {
  AuthType,
  createMessageSignature,
  PubKeyEncoding,
  publicKeyFromSignatureVrs,
  type StacksTransactionWire,
  sigHashPreSign,
  signWithKey,
} from '@stacks/transactions';
import { privateKeyToAccount, type StacksAccount } from './accounts.js';
import { SignerError } from './errors.js';
import type { StacksNetworkId, StacksNetworkInput, StacksNetworkName } from './networks.js';

/**
 * What a signer is asked to sign: the unsigned transaction itself (so that a signer with a policy checks what it
 * decodes, not what it is told), its sighash, and the origin that must sign.
 * @example
 * ```ts
 * const request: SignTransactionRequest = { sighash, address: signer.address, transaction: unsignedHex };
 * ```
 */
export type SignTransactionRequest = {
  /** The 32-byte hash the origin signs (the pre-sign sighash: initial sighash, auth type, fee, nonce), hex. */
  readonly sighash: string;
  /** The origin address the transaction is built for; a signer refuses any other. */
  readonly address: string;
  /** The unsigned transaction, hex without `0x`. */
  readonly transaction: string;
};

/**
 * Signs payment transactions for one Stacks address. A {@link StacksAccount} is turned into one with
 * {@link privateKeySigner}; every option that takes an account also takes a signer.
 * @example
 * ```ts
 * const signer = privateKeySigner(process.env.CLIENT_PRIVATE_KEY!, 'testnet');
 * const fetchWithPayment = wrapFetchWithPayment(fetch, signer);
 * ```
 */
export type Signer = {
  readonly address: string;
  /** Hex public key (33 bytes compressed, or 65 uncompressed): the unsigned transaction is built with it. */
  readonly publicKey: string;
  readonly network: StacksNetworkName;
  /** CAIP-2 id of `network`. */
  readonly caip2: StacksNetworkId;
  /**
   * Returns the recoverable signature of `request.sighash`: 65 bytes hex, recovery id first (as Stacks stores it).
   * @throws {SignerError} when it refuses or cannot sign.
   */
  signTransaction(request: SignTransactionRequest): Promise<string>;
};

/**
 * A signer over a private key held in this process.
 * @throws {InvalidPrivateKeyError} for a malformed key; the message never contains it.
 * @example
 * ```ts
 * import { privateKeySigner } from 'x402-stacks/client';
 * const signer = privateKeySigner(process.env.CLIENT_PRIVATE_KEY!, 'testnet');
 * ```
 */
export function privateKeySigner(
  privateKey: string,
  network: StacksNetworkInput = 'testnet',
): Signer {
  return accountSigner(privateKeyToAccount(privateKey, network));
}

const signers = new WeakMap<StacksAccount, Signer>();

/** The signer of an account's own key (one per account). */
function accountSigner(account: StacksAccount): Signer {
  const known = signers.get(account);
  if (known) return known;
  const signer: Signer = Object.freeze({
    address: account.address,
    publicKey: account.publicKey,
    network: account.network,
    caip2: account.caip2,
    async signTransaction(request: SignTransactionRequest) {
      if (request.address !== account.address) {
        throw new SignerError(
          'signer_refused',
          `this signer signs for ${account.address}, not ${String(request.address)}`,
          { signerReason: 'origin_mismatch' },
        );
      }
      return signWithKey(account.privateKey, request.sighash);
    },
  });
  signers.set(account, signer);
  return signer;
}

/**
 * Whether a value is a {@link Signer} (rather than an account).
 * @example
 * ```ts
 * const signer = isSigner(input) ? input : toSigner(input);
 * ```
 */
export function isSigner(value: unknown): value is Signer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Signer).signTransaction === 'function' &&
    typeof (value as Signer).address === 'string' &&
    typeof (value as Signer).publicKey === 'string'
  );
}

/**
 * The signer of an account (its own key) or the signer itself; undefined for anything else.
 * @example
 * ```ts
 * const signer = toSigner(privateKeyToAccount(key, 'testnet'));
 * ```
 */
export function toSigner(source: StacksAccount | Signer): Signer | undefined {
  if (isSigner(source)) return source;
  const account = source as StacksAccount | undefined;
  if (!account?.address || !account.privateKey || !account.network) return undefined;
  return accountSigner(account);
}

/**
 * The hash the origin of an unsigned single-sig transaction signs: the initial sighash, with the standard auth flag
 * (also in a sponsored transaction), the fee and the nonce.
 * @example
 * ```ts
 * const sighash = originSighash(deserializeTransaction(unsignedHex));
 * ```
 */
export function originSighash(tx: StacksTransactionWire): string {
  const condition = tx.auth.spendingCondition;
  return sigHashPreSign(tx.signBegin(), AuthType.Standard, condition.fee, condition.nonce);
}

/**
 * Asks the signer for the origin signature of an unsigned single-sig transaction, checks that it recovers to the
 * signer's public key, and puts it in place.
 * @throws {SignerError} `signer_signature_invalid` for a signature of another key or another hash.
 * @example
 * ```ts
 * await signOrigin(unsigned, signer); // unsigned.serialize() is now the signed transaction
 * ```
 */
export async function signOrigin(tx: StacksTransactionWire, signer: Signer): Promise<void> {
  const condition = tx.auth.spendingCondition;
  if (!('signature' in condition)) {
    throw new SignerError('signer_refused', 'only single-signature origins can be signed here');
  }
  const sighash = originSighash(tx);
  const signature = await signer.signTransaction({
    sighash,
    address: signer.address,
    transaction: tx.serialize(),
  });
  if (typeof signature !== 'string' || !/^[0-9a-f]{130}$/i.test(signature)) {
    throw new SignerError(
      'signer_signature_invalid',
      'the signer did not return 65 bytes of hex (recovery id first)',
    );
  }
  let recovered: string | undefined;
  const encoding =
    signer.publicKey.length === 66 ? PubKeyEncoding.Compressed : PubKeyEncoding.Uncompressed;
  try {
    recovered = publicKeyFromSignatureVrs(sighash, signature.toLowerCase(), encoding);
  } catch {
    recovered = undefined;
  }
  if (recovered?.toLowerCase() !== signer.publicKey.toLowerCase()) {
    throw new SignerError(
      'signer_signature_invalid',
      `the signature does not verify against the public key of ${signer.address} over this transaction`,
    );
  }
  condition.signature = createMessageSignature(signature.toLowerCase());
}
