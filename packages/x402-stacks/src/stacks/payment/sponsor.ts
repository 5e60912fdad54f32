/**
 * Sponsor-signing a payment: the facilitator fills the sponsor slot of a sponsored transaction and signs it.
 *
 * `sponsorTransaction` from @stacks/transactions cannot sign for a complete multisig origin: its `TransactionSigner`
 * refuses any multisig condition that already holds all its signatures ("more signatures than are expected"), which
 * a payer's finished multisig transaction always does. Under SIP-005 the sponsor does not need the signer's
 * bookkeeping: it signs over the sighash that the origin's verification ends on (after the last signature of a
 * sequential multisig, the initial sighash for an order-independent one), with the sponsored flag and its own fee and
 * nonce. So this reads that sighash off the verified origin and writes the signed sponsor condition into the payer's
 * bytes, leaving every origin byte as the payer signed it.
 * @module
 */
import {
  AddressHashMode,
  AuthType,
  BytesReader,
  createMessageSignature,
  createSingleSigSpendingCondition,
  deserializeSpendingCondition,
  deserializeTransaction,
  nextSignature,
  privateKeyToPublic,
  serializeSpendingConditionBytes,
} from '@stacks/transactions';
import { fromHex, toHex } from '../bytes.js';
import { resolveNetwork, type StacksNetworkInput } from '../networks.js';
import { transactionIdOf, verifyOriginSignature } from '../signature.js';
import { readPaymentTransaction } from './read-transaction.js';

/**
 * What `signAsSponsor` takes: the payer's signed sponsored transaction, and the sponsor's key, fee and nonce.
 * @example
 * ```ts
 * const options: SignAsSponsorOptions = { transaction, privateKey: sponsorKey, fee: 2_000n, nonce: 7n,
 *   network: 'testnet' };
 * ```
 */
export type SignAsSponsorOptions = {
  /** The payer's signed sponsored transaction, hex with or without `0x`. */
  transaction: string;
  /** The sponsor's key; it signs as a single-sig P2PKH sponsor. */
  privateKey: string;
  /** The fee the sponsor pays, micro-STX. */
  fee: bigint;
  /** The sponsor account's nonce for this transaction. */
  nonce: bigint;
  /** The network the transaction must be for. */
  network: StacksNetworkInput;
};

/**
 * A sponsored transaction once its sponsor signed: the bytes to broadcast and the id the chain will know.
 * @example
 * ```ts
 * const { txid, transaction }: SponsoredTransaction = signAsSponsor(options);
 * ```
 */
export type SponsoredTransaction = {
  /** Id of the sponsored transaction: the one the chain will know it by. */
  readonly txid: string;
  /** The sponsored transaction, hex without `0x`, ready to broadcast. */
  readonly transaction: string;
};

// version(1) chain id(4) auth type(1): the spending conditions start right after.
const AUTH_HEADER_LENGTH = 6;

/**
 * Signs a sponsored transaction as its sponsor, for any origin whose signature verifies: single-sig P2PKH or P2WPKH,
 * and multisig P2SH or P2WSH, sequential or order-independent. The origin's bytes are kept exactly; only the sponsor
 * slot changes, so the origin's signatures stay valid.
 *
 * @throws {Error} when the transaction is not sponsored, is for another network, or its origin signature does not
 *   verify (a sponsor signature over it would be worthless).
 * @example
 * ```ts
 * import { signAsSponsor } from 'x402-stacks/facilitator';
 * const { txid, transaction } = signAsSponsor({
 *   transaction: payload.transaction,
 *   privateKey: process.env.SPONSOR_KEY!,
 *   fee: 400n,
 *   nonce: 12n,
 *   network: 'testnet',
 * });
 * ```
 */
export function signAsSponsor(options: SignAsSponsorOptions): SponsoredTransaction {
  const raw = fromHex(options.transaction.replace(/^0x/, ''));
  const tx = readPaymentTransaction(raw) ?? deserializeTransaction(raw);
  if (tx.auth.authType !== AuthType.Sponsored) {
    throw new Error('signAsSponsor: the transaction is not sponsored');
  }
  const network = resolveNetwork(options.network);
  if (tx.chainId !== network.chainId || tx.transactionVersion !== network.transactionVersion) {
    throw new Error(`signAsSponsor: the transaction is not for ${network.caip2}`);
  }
  const origin = verifyOriginSignature(raw, tx);
  if (!origin.valid || !origin.nextSigHash) {
    throw new Error('signAsSponsor: the origin signature does not verify');
  }

  const { nextSig } = nextSignature(
    toHex(origin.nextSigHash),
    AuthType.Sponsored,
    options.fee,
    options.nonce,
    options.privateKey,
  );
  const condition = createSingleSigSpendingCondition(
    AddressHashMode.P2PKH,
    privateKeyToPublic(options.privateKey),
    options.nonce,
    options.fee,
  );
  condition.signature = createMessageSignature(nextSig);

  const slot = sponsorSlotOf(raw);
  const sponsorBytes = serializeSpendingConditionBytes(condition);
  const out = new Uint8Array(raw.length - (slot.end - slot.start) + sponsorBytes.length);
  out.set(raw.subarray(0, slot.start), 0);
  out.set(sponsorBytes, slot.start);
  out.set(raw.subarray(slot.end), slot.start + sponsorBytes.length);
  return { txid: transactionIdOf(out), transaction: toHex(out) };
}

/**
 * Where the sponsor condition lies in the raw bytes. Read from the bytes themselves rather than from a re-serialized
 * origin, so the splice cannot shift a single origin byte.
 */
function sponsorSlotOf(raw: Uint8Array): { start: number; end: number } {
  const reader = new BytesReader(raw);
  reader.readOffset = AUTH_HEADER_LENGTH;
  deserializeSpendingCondition(reader);
  const start = reader.readOffset;
  deserializeSpendingCondition(reader);
  return { start, end: reader.readOffset };
}
