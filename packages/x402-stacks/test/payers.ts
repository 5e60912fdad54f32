/**
 * Payers other than the plain single-sig P2PKH account, for tests: a P2WPKH origin of one key, and an M-of-N multisig
 * account (P2SH or P2WSH, sequential or order-independent) with the payments it signs.
 *
 * `createPaymentTransaction` builds single-sig payments only, so a multisig payment is built by it with the multisig
 * address as the payer (the sBTC `transfer` sender and post-condition must name that address), then its origin is
 * swapped for the multisig condition and signed by the first M keys.
 */
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  AddressHashMode,
  createMultiSigSpendingCondition,
  deserializeTransaction,
  hash160,
  type MultiSigHashMode,
  privateKeyToPublic,
  TransactionSigner,
} from '@stacks/transactions';
import { privateKeyToAccount } from '../src/stacks/accounts.js';
import { addressFromHash160 } from '../src/stacks/address.js';
import {
  type CreatePaymentTransactionOptions,
  createPaymentTransaction,
  type PaymentTransaction,
} from '../src/stacks/payment/create.js';
import { transactionIdOf } from '../src/stacks/signature.js';
import { resign } from './tampering.js';

// Testnet multi-sig address version: every origin but P2PKH is addressed with it.
const TESTNET_MULTISIG_VERSION = 21;

/** The P2WPKH signer of a key: hash160(0x00 0x14 hash160(compressed key)). */
export function witnessSignerOf(privateKey: string): string {
  const program = new Uint8Array(22);
  program[1] = 0x14;
  program.set(hash160(hexToBytes(publicKeyOf(privateKey))), 2);
  return bytesToHex(hash160(program));
}

/** The testnet (SN) address of a key's P2WPKH origin. */
export function witnessAddressOf(privateKey: string): string {
  return addressFromHash160(TESTNET_MULTISIG_VERSION, witnessSignerOf(privateKey));
}

/** Re-signs a single-sig transaction of `privateKey` as the P2WPKH origin of the same key. */
export function asWitness(hex: string, privateKey: string): string {
  return resign(hex, privateKey, (tx) => {
    const condition = tx.auth.spendingCondition;
    condition.hashMode = AddressHashMode.P2WPKH;
    condition.signer = witnessSignerOf(privateKey);
  });
}

/** The multisig hash modes a payment origin may use, with a short name for test titles. */
export const MULTISIG_MODES = {
  p2sh: AddressHashMode.P2SH,
  p2wsh: AddressHashMode.P2WSH,
  'p2sh-order-independent': AddressHashMode.P2SHNonSequential,
  'p2wsh-order-independent': AddressHashMode.P2WSHNonSequential,
} as const satisfies Record<string, MultiSigHashMode>;

export type MultisigPayer = {
  /** The testnet SN address. */
  readonly address: string;
  readonly hashMode: MultiSigHashMode;
  readonly required: number;
  /** Every member's key, in the order the condition lists them. */
  readonly privateKeys: readonly string[];
};

/** An M-of-N testnet payer over `privateKeys` (compressed keys: P2WSH refuses uncompressed ones). */
export function multisigPayer(
  privateKeys: readonly string[],
  required: number,
  hashMode: MultiSigHashMode = AddressHashMode.P2SH,
): MultisigPayer {
  const condition = createMultiSigSpendingCondition(
    hashMode,
    required,
    privateKeys.map(publicKeyOf),
    0n,
    0n,
  );
  return {
    address: addressFromHash160(TESTNET_MULTISIG_VERSION, condition.signer),
    hashMode,
    required,
    privateKeys,
  };
}

/** Builds and signs the payment `payer` makes; the options are `createPaymentTransaction`'s, less the account. */
export async function multisigPayment(
  payer: MultisigPayer,
  options: Omit<CreatePaymentTransactionOptions, 'account'>,
): Promise<PaymentTransaction> {
  const single = await paymentNaming(payer.address, payer.privateKeys[0]!, options);
  const tx = deserializeTransaction(single.transaction);
  const origin = tx.auth.spendingCondition;
  tx.auth.spendingCondition = createMultiSigSpendingCondition(
    payer.hashMode,
    payer.required,
    payer.privateKeys.map(publicKeyOf),
    origin.nonce,
    origin.fee,
  );
  const signer = new TransactionSigner(tx);
  payer.privateKeys.forEach((key, index) => {
    if (index < payer.required) signer.signOrigin(key);
    else signer.appendOrigin(publicKeyOf(key));
  });
  const transaction = tx.serialize();
  return {
    ...single,
    transaction,
    txid: transactionIdOf(hexToBytes(transaction)),
    payer: payer.address,
  };
}

/** Builds and signs the payment the P2WPKH origin of `privateKey` makes (see `witnessAddressOf`). */
export async function witnessPayment(
  privateKey: string,
  options: Omit<CreatePaymentTransactionOptions, 'account'>,
): Promise<PaymentTransaction> {
  const address = witnessAddressOf(privateKey);
  const single = await paymentNaming(address, privateKey, options);
  const transaction = asWitness(single.transaction, privateKey);
  return { ...single, transaction, txid: transactionIdOf(hexToBytes(transaction)), payer: address };
}

/**
 * A single-sig payment signed by `privateKey` whose payload names `address` as the payer (the sBTC `transfer` sender
 * and post-condition), ready for its origin to be replaced by the one `address` belongs to.
 */
function paymentNaming(
  address: string,
  privateKey: string,
  options: Omit<CreatePaymentTransactionOptions, 'account'>,
): Promise<PaymentTransaction> {
  const key = privateKeyToAccount(privateKey, 'testnet');
  return createPaymentTransaction({
    ...options,
    account: {
      address,
      publicKey: key.publicKey,
      network: key.network,
      caip2: key.caip2,
      privateKey: key.privateKey,
    },
  });
}

function publicKeyOf(privateKey: string): string {
  return privateKeyToPublic(privateKey) as string;
}
