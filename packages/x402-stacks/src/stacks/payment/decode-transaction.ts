/**
 * A payment's hex read into a transaction, exactly: bytes past its end, bytes missing from it, or a memo that would not
 * re-serialize to its own bytes are refused, since the txid, the sighash and every signature cover the bytes as given.
 * Shared by the payment check and by a signer's look at what it is asked to sign.
 * @module
 */
import {
  BytesReader,
  deserializeTransaction,
  PayloadType,
  type StacksTransactionWire,
} from '@stacks/transactions';
import type { ReasonCode } from '../../protocol/reasons.js';
import { fromHex } from '../bytes.js';
import { readPaymentTransaction } from './read-transaction.js';

const HEX = /^[0-9a-fA-F]*$/;
const MAX_TRANSACTION_BYTES = 64 * 1024;
const MEMO_WIRE_LENGTH = 34;

/**
 * Decodes a transaction from hex (with or without `0x`), or says in words why its bytes are not exactly one
 * transaction; `reason` is set where a more precise code than "could not be decoded" applies.
 * @example
 * ```ts
 * const decoded = decodeTransaction(payload.transaction);
 * if ('error' in decoded) return refuse(decoded.reason ?? 'invalid_exact_stacks_payload_transaction_could_not_be_decoded');
 * ```
 */
export function decodeTransaction(
  transactionHex: string,
): { raw: Uint8Array; tx: StacksTransactionWire } | { error: string; reason?: ReasonCode } {
  if (typeof transactionHex !== 'string') return { error: 'the transaction is not a hex string' };
  const hex = transactionHex.startsWith('0x') ? transactionHex.slice(2) : transactionHex;
  if (hex.length === 0 || hex.length % 2 !== 0 || !HEX.test(hex)) {
    return { error: 'the transaction is not an even-length hex string' };
  }
  if (hex.length / 2 > MAX_TRANSACTION_BYTES) {
    return { error: `the transaction is over ${MAX_TRANSACTION_BYTES} bytes` };
  }
  const raw = fromHex(hex);
  const tx = readPaymentTransaction(raw) ?? deserializeWhole(raw);
  if ('error' in tx) return tx;
  // A memo that is not UTF-8 decodes lossily, so the decoded transaction no longer re-serializes to these bytes,
  // and anything that re-serializes it (a sponsor, verifyOrigin) would sign or hash different bytes.
  if (
    tx.payload.payloadType === PayloadType.TokenTransfer &&
    !isCanonicalMemo(raw, tx.payload.memo.content)
  ) {
    return { error: 'the memo is not valid UTF-8', reason: 'invalid_exact_stacks_payload_memo' };
  }
  return { raw, tx };
}

/** What `readPaymentTransaction` leaves to @stacks/transactions: the whole decode, its errors in words. */
function deserializeWhole(raw: Uint8Array): StacksTransactionWire | { error: string } {
  try {
    const reader = new BytesReader(raw);
    const tx = deserializeTransaction(reader);
    if (reader.consumed === raw.length) return tx;
    // Trailing bytes would make the txid we report differ from the one the node computes.
    if (reader.consumed < raw.length) {
      return { error: `${raw.length - reader.consumed} trailing bytes after the transaction` };
    }
    // The reader does not bounds-check length prefixes, so it can run past the end; and a prefix that is itself past
    // the end reads as no number at all, which leaves `consumed` NaN.
    const missing = reader.consumed - raw.length;
    return {
      error: Number.isFinite(missing)
        ? `the transaction is truncated: ${missing} bytes missing`
        : 'the transaction is truncated: a length lies past its end',
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

const memoEncoder = new TextEncoder();

function isCanonicalMemo(raw: Uint8Array, content: string): boolean {
  // The memo is the last field of a token transfer: 34 bytes, zero-padded.
  const memo = raw.subarray(raw.length - MEMO_WIRE_LENGTH);
  const encoded = memoEncoder.encode(content);
  if (encoded.length > MEMO_WIRE_LENGTH) return false;
  for (let i = 0; i < MEMO_WIRE_LENGTH; i++) {
    if (memo[i] !== (i < encoded.length ? encoded[i] : 0)) return false;
  }
  return true;
}
