/**
 * A payment's bytes read into the very object `deserializeTransaction` of @stacks/transactions builds, for the shapes
 * payments take, at about a sixth of its cost: that one turns each field into hex and back, and c32-encodes every
 * principal it meets (two SHA-256 in JavaScript each); here fields are read straight from the bytes, and principals
 * go through the address cache (`addressFromHash160`).
 *
 * Only what a payment takes is read: a single-signature origin, and sponsor; STX and fungible post-conditions; a token
 * transfer with an ASCII memo, or a contract call whose arguments are integers, buffers, booleans, principals, or
 * optionals of those. For anything else, and for any byte this reader is not sure of (a length past the end, a name
 * over its limit, a value the library would refuse), the answer is undefined and the caller decodes with
 * @stacks/transactions, whose object or error stays the reference. A test holds the two equal over generated and
 * mutated transactions (`read-transaction.test.ts`).
 * @module
 */
import {
  AddressHashMode,
  AnchorMode,
  type Authorization,
  AuthType,
  ClarityType,
  type ClarityValue,
  FungibleConditionCode,
  type LengthPrefixedList,
  type LengthPrefixedStringWire,
  MAX_STRING_LENGTH_BYTES,
  MEMO_MAX_LENGTH_BYTES,
  PayloadType,
  type PayloadWire,
  PostConditionMode,
  PostConditionPrincipalId,
  type PostConditionPrincipalWire,
  PostConditionType,
  type PostConditionWire,
  PubKeyEncoding,
  RECOVERABLE_ECDSA_SIG_LENGTH_BYTES,
  type SingleSigSpendingCondition,
  StacksTransactionWire,
  StacksWireType,
} from '@stacks/transactions';
import { addressFromHash160 } from '../address.js';
import { toHex } from '../bytes.js';
import { STACKS_NETWORKS } from '../networks.js';

/**
 * The most post-conditions, and call arguments, read here: a payment carries at most a few. Past it the library
 * decodes alone, so a payment padded with thousands of principals is not encoded twice (here, then there after a
 * decline at its end), nor fills the address cache the checker reads payers from.
 */
const MAX_LIST_ITEMS = 8;
/** The transaction versions there are: mainnet's and testnet's. */
const VERSIONS: readonly number[] = [
  STACKS_NETWORKS.mainnet.transactionVersion,
  STACKS_NETWORKS.testnet.transactionVersion,
];

/** Thrown inside the reader where it declines, made once: a flood of bad payments costs no stack traces. */
const DECLINED = new Error('left to @stacks/transactions');
const decline = (): never => {
  throw DECLINED;
};

/**
 * The transaction in `raw`, exactly as `deserializeTransaction(raw)` of @stacks/transactions 7.6 makes it (the version
 * the tests compare against), or undefined where this reader leaves the decoding to the library: a shape it does not
 * read, more than 8 post-conditions or arguments, bytes it cannot read whole (trailing or missing ones), a memo or name
 * outside ASCII, or a value the library would refuse.
 * @example
 * ```ts
 * import { readPaymentTransaction } from 'x402-stacks/stacks';
 * const tx = readPaymentTransaction(raw) ?? deserializeTransaction(new BytesReader(raw));
 * ```
 */
export function readPaymentTransaction(raw: Uint8Array): StacksTransactionWire | undefined {
  try {
    const reader = new Reader(raw);
    const transactionVersion = reader.byte();
    if (!VERSIONS.includes(transactionVersion)) decline();
    const chainId = reader.uint32();
    const auth = readAuthorization(reader);
    const anchorMode = reader.byte();
    if (
      anchorMode !== AnchorMode.OnChainOnly &&
      anchorMode !== AnchorMode.OffChainOnly &&
      anchorMode !== AnchorMode.Any
    )
      decline();
    const postConditionMode = reader.byte();
    if (
      postConditionMode !== PostConditionMode.Allow &&
      postConditionMode !== PostConditionMode.Deny
    )
      decline();
    const postConditions = readPostConditions(reader);
    const payload = readPayload(reader);
    if (!reader.atEnd) decline();
    const tx = new StacksTransactionWire({
      transactionVersion,
      chainId,
      auth,
      payload,
      postConditions,
      postConditionMode,
    });
    tx.anchorMode = anchorMode;
    return tx;
  } catch {
    // Declined, or anything unforeseen: the library's reading decides.
    return undefined;
  }
}

/** Bytes read in order; a read past the end declines. */
class Reader {
  #at = 0;
  constructor(readonly bytes: Uint8Array) {}

  get atEnd(): boolean {
    return this.#at === this.bytes.length;
  }

  byte(): number {
    if (this.#at >= this.bytes.length) decline();
    return this.bytes[this.#at++]!;
  }

  take(length: number): Uint8Array {
    const end = this.#at + length;
    if (end > this.bytes.length) decline();
    const taken = this.bytes.subarray(this.#at, end);
    this.#at = end;
    return taken;
  }

  uint32(): number {
    const [a, b, c, d] = this.take(4) as unknown as [number, number, number, number];
    return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  }

  /** An unsigned big-endian integer of `length` bytes. */
  unsigned(length: number): bigint {
    let value = 0n;
    for (const byte of this.take(length)) value = (value << 8n) | BigInt(byte);
    return value;
  }

  hex(length: number): string {
    return toHex(this.take(length));
  }

  /** ASCII text of `length` bytes; a byte outside ASCII declines (its UTF-8 reading is the library's to make). */
  ascii(length: number): string {
    const bytes = this.take(length);
    let text = '';
    for (const byte of bytes) {
      if (byte > 0x7f) decline();
      text += String.fromCharCode(byte);
    }
    return text;
  }
}

function readAuthorization(reader: Reader): Authorization {
  const authType = reader.byte();
  if (authType === AuthType.Standard) {
    return { authType: AuthType.Standard, spendingCondition: readSingleSig(reader) };
  }
  if (authType !== AuthType.Sponsored) decline();
  const spendingCondition = readSingleSig(reader);
  return {
    authType: AuthType.Sponsored,
    spendingCondition,
    sponsorSpendingCondition: readSingleSig(reader),
  };
}

function readSingleSig(reader: Reader): SingleSigSpendingCondition {
  const hashMode = reader.byte();
  if (hashMode !== AddressHashMode.P2PKH && hashMode !== AddressHashMode.P2WPKH) decline();
  const signer = reader.hex(20);
  const nonce = reader.unsigned(8);
  const fee = reader.unsigned(8);
  const keyEncoding = reader.byte();
  if (keyEncoding !== PubKeyEncoding.Compressed && keyEncoding !== PubKeyEncoding.Uncompressed)
    decline();
  // The library refuses a segwit key hash over an uncompressed key; its error is the answer.
  if (hashMode === AddressHashMode.P2WPKH && keyEncoding !== PubKeyEncoding.Compressed) decline();
  const signature = {
    type: StacksWireType.MessageSignature,
    data: reader.hex(RECOVERABLE_ECDSA_SIG_LENGTH_BYTES),
  };
  return {
    hashMode,
    signer,
    nonce,
    fee,
    keyEncoding,
    signature,
  } as SingleSigSpendingCondition;
}

function readPostConditions(reader: Reader): LengthPrefixedList<PostConditionWire> {
  const count = reader.uint32();
  if (count > MAX_LIST_ITEMS) decline();
  const values: PostConditionWire[] = [];
  for (let index = 0; index < count; index++) values.push(readPostCondition(reader));
  return { type: StacksWireType.LengthPrefixedList, lengthPrefixBytes: 4, values };
}

function readPostCondition(reader: Reader): PostConditionWire {
  const conditionType = reader.byte();
  if (conditionType !== PostConditionType.STX && conditionType !== PostConditionType.Fungible)
    decline();
  const principal = readConditionPrincipal(reader);
  const asset =
    conditionType === PostConditionType.Fungible
      ? {
          type: StacksWireType.Asset,
          address: readWireAddress(reader),
          contractName: readName(reader),
          assetName: readName(reader),
        }
      : undefined;
  const conditionCode = reader.byte();
  if (
    conditionCode < FungibleConditionCode.Equal ||
    conditionCode > FungibleConditionCode.LessEqual
  )
    decline();
  const amount = reader.unsigned(8);
  return (
    asset === undefined
      ? { type: StacksWireType.PostCondition, conditionType, principal, conditionCode, amount }
      : {
          type: StacksWireType.PostCondition,
          conditionType,
          principal,
          conditionCode,
          amount,
          asset,
        }
  ) as PostConditionWire;
}

function readConditionPrincipal(reader: Reader): PostConditionPrincipalWire {
  const prefix = reader.byte();
  if (prefix === PostConditionPrincipalId.Origin) return { type: StacksWireType.Principal, prefix };
  if (prefix !== PostConditionPrincipalId.Standard && prefix !== PostConditionPrincipalId.Contract)
    decline();
  const address = readWireAddress(reader);
  if (prefix === PostConditionPrincipalId.Standard)
    return { type: StacksWireType.Principal, prefix, address };
  return { type: StacksWireType.Principal, prefix, address, contractName: readName(reader) };
}

function readWireAddress(reader: Reader) {
  const version = reader.byte();
  return { type: StacksWireType.Address, version, hash160: reader.hex(20) } as const;
}

/** A name with a one-byte length prefix, as the library reads it (and refuses past 128 bytes). */
function readName(reader: Reader): LengthPrefixedStringWire {
  const length = reader.byte();
  if (length > MAX_STRING_LENGTH_BYTES) decline();
  return {
    type: StacksWireType.LengthPrefixedString,
    content: reader.ascii(length),
    lengthPrefixBytes: 1,
    maxLengthBytes: MAX_STRING_LENGTH_BYTES,
  };
}

function readPayload(reader: Reader): PayloadWire {
  const payloadType = reader.byte();
  if (payloadType === PayloadType.TokenTransfer) {
    const recipient = readValue(reader, false);
    const amount = reader.unsigned(8);
    return {
      type: StacksWireType.Payload,
      payloadType: PayloadType.TokenTransfer,
      recipient,
      amount,
      memo: { type: StacksWireType.MemoString, content: readMemo(reader) },
    } as PayloadWire;
  }
  if (payloadType !== PayloadType.ContractCall) decline();
  const contractAddress = readWireAddress(reader);
  const contractName = readName(reader);
  const functionName = readName(reader);
  const count = reader.uint32();
  if (count > MAX_LIST_ITEMS) decline();
  const functionArgs: ClarityValue[] = [];
  for (let index = 0; index < count; index++) functionArgs.push(readValue(reader, true));
  return {
    type: StacksWireType.Payload,
    payloadType: PayloadType.ContractCall,
    contractAddress,
    contractName,
    functionName,
    functionArgs,
  };
}

/** The memo's text: its 34 bytes with the zero bytes at the end dropped, as the library reads an ASCII memo. */
function readMemo(reader: Reader): string {
  const text = reader.ascii(MEMO_MAX_LENGTH_BYTES);
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end--;
  return text.slice(0, end);
}

/** Clarity wire types, as stacks-core serializes a value. */
const WIRE = {
  int: 0x00,
  uint: 0x01,
  buffer: 0x02,
  true: 0x03,
  false: 0x04,
  standard: 0x05,
  contract: 0x06,
  none: 0x09,
  some: 0x0a,
} as const;

/** A buffer the library builds: up to 1 MiB. */
const MAX_BUFFER_BYTES = 1_048_576;
const TWO_128 = 1n << 128n;

/** A Clarity value of the kinds a transfer takes: optionals only where `optionalAllowed` (an argument, not inside a `some`). */
function readValue(reader: Reader, optionalAllowed: boolean): ClarityValue {
  const wireType = reader.byte();
  switch (wireType) {
    case WIRE.int: {
      const value = reader.unsigned(16);
      return { type: ClarityType.Int, value: value >= TWO_128 / 2n ? value - TWO_128 : value };
    }
    case WIRE.uint:
      return { type: ClarityType.UInt, value: reader.unsigned(16) };
    case WIRE.buffer: {
      const length = reader.uint32();
      if (length > MAX_BUFFER_BYTES) decline();
      return { type: ClarityType.Buffer, value: reader.hex(length) };
    }
    case WIRE.true:
      return { type: ClarityType.BoolTrue };
    case WIRE.false:
      return { type: ClarityType.BoolFalse };
    case WIRE.standard:
      return { type: ClarityType.PrincipalStandard, value: readC32Address(reader) };
    case WIRE.contract: {
      const address = readC32Address(reader);
      const name = readName(reader).content;
      // The library refuses a contract principal's name of 128 bytes or more.
      if (name.length >= MAX_STRING_LENGTH_BYTES) decline();
      return { type: ClarityType.PrincipalContract, value: `${address}.${name}` };
    }
    case WIRE.none:
      if (!optionalAllowed) decline();
      return { type: ClarityType.OptionalNone };
    case WIRE.some:
      if (!optionalAllowed) decline();
      return { type: ClarityType.OptionalSome, value: readValue(reader, false) };
    default:
      return decline();
  }
}

/** A principal's address as c32 text; a version c32 cannot write (32 or more) is the library's to refuse. */
function readC32Address(reader: Reader): string {
  const version = reader.byte();
  if (version >= 32) decline();
  return addressFromHash160(version, reader.hex(20));
}
