/**
 * Who signs a seller's offers and receipts: a private key held in the process, or a function that signs elsewhere (a
 * KMS, a wallet, another service), so the key need not live beside the web server.
 * @module
 */
import type { ClarityValue } from '@stacks/transactions';
import { privateKeyToAccount, type StacksAccount } from '../../stacks/accounts.js';
import { parseStacksAddress } from '../../stacks/address.js';
import { toHex } from '../../stacks/bytes.js';
import { resolveNetwork } from '../../stacks/networks.js';
import {
  type StructuredDataDomain,
  signStructuredData,
  structuredDataHash,
} from '../../stacks/structured-data.js';

/**
 * What a remote signer is asked to sign: the SIP-018 domain and message, and the 32-byte hash they make (hex), which
 * is what the signature must sign.
 * @example
 * ```ts
 * const sign = async ({ hash }: OfferReceiptSigningRequest) => kms.signDigestRsv(hash);
 * ```
 */
export type OfferReceiptSigningRequest = {
  readonly domain: StructuredDataDomain;
  readonly message: ClarityValue;
  readonly hash: string;
};

/**
 * A signer whose key lives elsewhere: its Stacks address, and a function that returns the 65-byte RSV signature (hex)
 * of the request's hash, as a wallet's `stx_signStructuredMessage` does.
 * @example
 * ```ts
 * const signer: RemoteOfferReceiptSigner = {
 *   address: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
 *   sign: async ({ domain, message }) => kms.signStructured(domain, message),
 * };
 * ```
 */
export type RemoteOfferReceiptSigner = {
  readonly address: string;
  sign(request: OfferReceiptSigningRequest): string | Promise<string>;
};

/**
 * A private key (hex), an account from `privateKeyToAccount`, or a {@link RemoteOfferReceiptSigner}.
 * @example
 * ```ts
 * const signer: OfferReceiptSigner = process.env.SELLER_SIGNING_KEY!;
 * ```
 */
export type OfferReceiptSigner = string | StacksAccount | RemoteOfferReceiptSigner;

/**
 * A signer bound to one network: its address there, and a signing function.
 * @example
 * ```ts
 * const bound: BoundSigner = bindSigner(process.env.SELLER_SIGNING_KEY!, 'stacks:1');
 * ```
 */
export type BoundSigner = {
  readonly address: string;
  sign(domain: StructuredDataDomain, message: ClarityValue): Promise<string>;
};

/**
 * Binds a signer to a network. A key's address depends on the network, so it is derived here; a remote signer's is
 * its own. The key is held in a closure, never in a property a logger could print.
 * @throws {InvalidPrivateKeyError} for a malformed key (the message never holds it), {InvalidAddressError} for a
 *   remote signer's address that is not of this network.
 * @example
 * ```ts
 * const bound = bindSigner(process.env.SELLER_SIGNING_KEY!, 'stacks:1');
 * bound.address; // 'SP…'
 * ```
 */
export function bindSigner(signer: OfferReceiptSigner, network: string): BoundSigner {
  const made = bindOnce(signer, network);
  boundSigners.add(made);
  return made;
}

/**
 * Whether `signer` came from {@link bindSigner} (and so needs no binding again).
 * @example
 * ```ts
 * isBoundSigner(bindSigner(key, 'stacks:1')); // true
 * ```
 */
export function isBoundSigner(signer: unknown): signer is BoundSigner {
  return typeof signer === 'object' && signer !== null && boundSigners.has(signer);
}

// Remembered by identity, so a remote signer (which also has `sign`) is never mistaken for a bound one.
const boundSigners = new WeakSet<object>();

function bindOnce(signer: OfferReceiptSigner, network: string): BoundSigner {
  if (typeof signer === 'object' && 'sign' in signer && typeof signer.sign === 'function') {
    const remote = signer as RemoteOfferReceiptSigner;
    // The address buyers check against: it must be a single-signature address of this network.
    parseStacksAddress(remote.address, resolveNetwork(network));
    return {
      address: remote.address,
      async sign(domain, message) {
        return remote.sign({ domain, message, hash: toHex(structuredDataHash(domain, message)) });
      },
    };
  }
  const key = typeof signer === 'string' ? signer : (signer as StacksAccount).privateKey;
  const account = privateKeyToAccount(key, resolveNetwork(network).name);
  return {
    address: account.address,
    async sign(domain, message) {
      return signStructuredData(account.privateKey, domain, message);
    },
  };
}
