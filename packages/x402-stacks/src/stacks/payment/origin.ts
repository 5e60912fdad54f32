/**
 * Who pays, and with which nonce, read straight from a signed transaction's bytes. Every spending condition (single-
 * or multi-sig, standard or sponsored auth) starts at the same offset with its hash mode, signer and nonce, so no
 * deserialization and no signature recovery is needed. The bytes are taken as signed: this says who the transaction
 * claims as its origin, and only a verified signature (the facilitator's `/verify`) makes that claim true.
 * @module
 */
import { AddressHashMode } from '@stacks/transactions';
import { addressFromHash160 } from '../address.js';
import { toHex } from '../bytes.js';
import { STACKS_NETWORKS } from '../networks.js';

/** The origin account of a transaction and the nonce it spends. */
export type TransactionOrigin = {
  /** The origin's Stacks address, on the network the transaction is versioned for. */
  readonly payer: string;
  readonly nonce: bigint;
};

// version(1) chain id(4) auth type(1) | hash mode(1) signer(20) nonce(8) …
const HASH_MODE_OFFSET = 6;
const SIGNER_OFFSET = HASH_MODE_OFFSET + 1;
const NONCE_OFFSET = SIGNER_OFFSET + 20;
const ORIGIN_PREFIX_LENGTH = NONCE_OFFSET + 8;

/**
 * The origin address and nonce of a serialized transaction, or `undefined` when the bytes are too short to hold them.
 *
 * @example
 * ```ts
 * const origin = readTransactionOrigin(fromHex(payment.transaction));
 * origin?.payer; // 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM'
 * origin?.nonce; // 7n
 * ```
 */
export function readTransactionOrigin(raw: Uint8Array): TransactionOrigin | undefined {
  if (raw.length < ORIGIN_PREFIX_LENGTH) return undefined;
  const network =
    raw[0] === STACKS_NETWORKS.mainnet.transactionVersion
      ? STACKS_NETWORKS.mainnet
      : STACKS_NETWORKS.testnet;
  // stacks-core addresses P2PKH with the single-sig version and every other hash mode with the multi-sig one.
  const version =
    raw[HASH_MODE_OFFSET] === AddressHashMode.P2PKH
      ? network.addressVersion.singleSig
      : network.addressVersion.multiSig;
  const signer = toHex(raw.subarray(SIGNER_OFFSET, NONCE_OFFSET));
  const nonce = new DataView(raw.buffer, raw.byteOffset + NONCE_OFFSET, 8).getBigUint64(0);
  return { payer: addressFromHash160(version, signer), nonce };
}
