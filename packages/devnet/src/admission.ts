/**
 * Mempool admission with the node's own rules and rejection reasons (stacks-core's `MemPoolRejection`), so that code
 * tested here meets the same refusals against a real node.
 * @module
 */
import {
  AddressHashMode,
  AuthType,
  BytesReader,
  type ClarityValue,
  deserializeTransaction,
  PayloadType,
  type StacksTransactionWire,
} from '@stacks/transactions';
import {
  addressFromHash160,
  readPaymentTransaction,
  STACKS_NETWORKS,
  transactionIdOf,
  verifyOriginSignature,
  verifySponsorSignature,
} from 'x402-stacks/stacks';
import type { ByteArena } from './arena.js';
import { argumentsFit, ESCROW_PUBLIC_FUNCTIONS } from './escrow-types.js';
import type { AccountState } from './state.js';
import type { DevnetToken } from './tokens.js';

/**
 * How far past the next nonce a transaction may chain (stacks-core MAXIMUM_MEMPOOL_TX_CHAINING): a broadcast with a
 * higher nonce is refused `TooMuchChaining`, as a real node refuses it.
 * @example
 * ```ts
 * const highestAccepted = chain.state.nonce(address) + MAX_NONCE_CHAINING;
 * ```
 */
export const MAX_NONCE_CHAINING = 25n;

/**
 * A refusal as the node's `POST /v2/transactions` returns it: `reason` is the node's own name for it.
 * @example
 * ```ts
 * const rejection: Rejection = { reason: 'FeeTooLow', reason_data: { expected: 180, actual: 100 } };
 * ```
 */
export type Rejection = { reason: string; reason_data?: Record<string, unknown> };

/**
 * A transaction that passed admission, with what the mempool and the miner need from it.
 * @example
 * ```ts
 * const { origin, originNonce, feePayer, fee } = chain.transaction(txid)!.admitted;
 * ```
 */
export type AdmittedTransaction = {
  readonly txid: string;
  readonly raw: Uint8Array;
  readonly tx: StacksTransactionWire;
  readonly origin: string;
  readonly originNonce: bigint;
  readonly sponsor: string | undefined;
  readonly sponsorNonce: bigint | undefined;
  /** Who pays the fee: the sponsor when sponsored. */
  readonly feePayer: string;
  readonly fee: bigint;
  readonly token: DevnetToken | undefined;
  /** Drops the decoded transaction to save memory; `tx` decodes the raw bytes again when read. */
  release(): void;
  /** Moves the raw bytes into the chain's arena; `raw` reads them back from there. */
  store(arena: ByteArena): void;
};

/** What admission reads from the rest of the chain. */
export type AdmissionContext = {
  readonly state: AccountState;
  readonly tokens: ReadonlyMap<string, DevnetToken>;
  /** The contract ids batch-escrow is deployed at. */
  readonly escrows: ReadonlySet<string>;
  /** The pending transaction holding (principal, nonce), if any. */
  pendingAt(principal: string, nonce: bigint): { txid: string; fee: bigint } | undefined;
};

const NETWORK = STACKS_NETWORKS.testnet;
const TRANSFER_ARGUMENT_TYPES = ['uint', 'principal', 'principal', 'optional'] as const;

/**
 * Decodes raw transaction bytes, failing like the node does on anything malformed.
 * @example
 * ```ts
 * const decoded = decodeRaw(bytes);
 * if ('reason' in decoded) return reject(decoded);
 * ```
 */
export function decodeRaw(
  raw: Uint8Array,
): { tx: StacksTransactionWire; txid: string } | Rejection {
  try {
    // A payment's shape is read without the library's hex round trips, into the very object it builds.
    const read = readPaymentTransaction(raw);
    if (read) return { tx: read, txid: transactionIdOf(raw) };
    const reader = new BytesReader(raw);
    const tx = deserializeTransaction(reader);
    if (reader.consumed !== raw.length) {
      return deserialization(`expected ${reader.consumed} bytes, got ${raw.length}`);
    }
    return { tx, txid: transactionIdOf(raw) };
  } catch (error) {
    return deserialization(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Applies the node's admission rules to a decoded transaction. Replace-by-fee is the caller's business: a
 * higher-fee conflict is admitted here and reported in `replaces`.
 */
export function admit(
  raw: Uint8Array,
  tx: StacksTransactionWire,
  txid: string,
  context: AdmissionContext,
): { admitted: AdmittedTransaction; replaces: string[] } | Rejection {
  // 1. Network: version and chain id.
  if (tx.transactionVersion !== NETWORK.transactionVersion || tx.chainId !== NETWORK.chainId) {
    return { reason: 'BadTransactionVersion' };
  }

  // 2. Signatures: the origin's, then the sponsor's; low-S is enforced by the mempool.
  const origin = verifyOriginSignature(raw, tx);
  if (!origin.valid) return signatureRejection('origin signature does not match its signer');
  if (origin.highS) return signatureRejection('origin signature has a high S value');
  const sponsored = tx.auth.authType === AuthType.Sponsored;
  if (sponsored) {
    const sponsor = verifySponsorSignature(raw, tx);
    if (!sponsor.valid) return signatureRejection('sponsor signature does not match its signer');
    if (sponsor.highS) return signatureRejection('sponsor signature has a high S value');
  }

  const facts = readFacts(raw, tx, txid, context.tokens);
  const { origin: originAddress, feePayer, fee } = facts;
  const originCondition = tx.auth.spendingCondition;
  const sponsorCondition =
    tx.auth.authType === AuthType.Sponsored ? tx.auth.sponsorSpendingCondition : undefined;
  const sponsorAddress = facts.sponsor;

  // 3. Fee: at least 1 micro-STX per byte.
  if (fee < BigInt(raw.length)) {
    return { reason: 'FeeTooLow', reason_data: { expected: raw.length, actual: Number(fee) } };
  }

  // 4. Payload rules.
  const payloadRejection = checkPayload(tx, originAddress, context);
  if ('reason' in payloadRejection) return payloadRejection;

  // 5. Nonces: not stale, not chained too far ahead, and no equal-or-better conflict in the mempool.
  const replaces: string[] = [];
  const nonceChecks: [string, bigint, boolean][] = [[originAddress, originCondition.nonce, true]];
  if (sponsorAddress && sponsorCondition) {
    nonceChecks.push([sponsorAddress, sponsorCondition.nonce, false]);
  }
  for (const [principal, nonce, isOrigin] of nonceChecks) {
    const expected = context.state.nonce(principal);
    const nonceData = {
      expected: Number(expected),
      actual: Number(nonce),
      principal,
      is_origin: isOrigin,
    };
    if (nonce < expected) return { reason: 'BadNonce', reason_data: nonceData };
    if (nonce > expected + MAX_NONCE_CHAINING) {
      return {
        reason: 'TooMuchChaining',
        reason_data: {
          message: `nonce ${nonce} is more than ${MAX_NONCE_CHAINING} ahead of ${expected}`,
          ...nonceData,
          expected: Number(expected + MAX_NONCE_CHAINING),
        },
      };
    }
    const pending = context.pendingAt(principal, nonce);
    if (pending) {
      // Replace-by-fee: only a strictly higher fee displaces the pending transaction.
      if (fee <= pending.fee) return { reason: 'ConflictingNonceInMempool' };
      replaces.push(pending.txid);
    }
  }

  // 6. Funds: an STX transfer's origin covers amount plus its own fee (reported as that total), and the fee payer
  // covers the fee.
  if (tx.payload.payloadType === PayloadType.TokenTransfer) {
    const needed = tx.payload.amount + (feePayer === originAddress ? fee : 0n);
    const balance = context.state.stx(originAddress);
    if (balance < needed) return notEnoughFunds(needed, balance);
  }
  const payerBalance = context.state.stx(feePayer);
  if (payerBalance < fee) return notEnoughFunds(fee, payerBalance);

  return { admitted: facts, replaces: [...new Set(replaces)] };
}

/**
 * Reads who pays what from a decoded transaction, without judging it: origin and sponsor principals, the fee and its
 * payer, and the registered token a contract call targets.
 */
export function readFacts(
  raw: Uint8Array,
  tx: StacksTransactionWire,
  txid: string,
  tokens: ReadonlyMap<string, DevnetToken>,
): AdmittedTransaction {
  const originCondition = tx.auth.spendingCondition;
  const origin = principalOfCondition(originCondition.hashMode, originCondition.signer);
  const sponsorCondition =
    tx.auth.authType === AuthType.Sponsored ? tx.auth.sponsorSpendingCondition : undefined;
  const sponsor = sponsorCondition
    ? principalOfCondition(sponsorCondition.hashMode, sponsorCondition.signer)
    : undefined;
  const { payload } = tx;
  const token =
    payload.payloadType === PayloadType.ContractCall
      ? tokens.get(contractIdOf(payload.contractAddress, payload.contractName.content))
      : undefined;
  return new Admitted(
    txid,
    raw,
    tx,
    origin,
    originCondition.nonce,
    sponsor,
    sponsorCondition?.nonce,
    sponsorCondition ? sponsorCondition.fee : originCondition.fee,
    token,
  );
}

/**
 * The facts of an admitted transaction. The decoded transaction is kept while it is pending and released once it is
 * mined or dropped: a chain of 100,000 transactions would otherwise hold 100,000 decoded object graphs. Reading `tx`
 * afterwards decodes the raw bytes again.
 */
class Admitted implements AdmittedTransaction {
  #tx: StacksTransactionWire | undefined;
  #raw: Uint8Array | undefined;
  #arena: ByteArena | undefined;
  #offset = 0;
  #length = 0;
  readonly feePayer: string;

  constructor(
    readonly txid: string,
    raw: Uint8Array,
    tx: StacksTransactionWire,
    readonly origin: string,
    readonly originNonce: bigint,
    readonly sponsor: string | undefined,
    readonly sponsorNonce: bigint | undefined,
    readonly fee: bigint,
    readonly token: DevnetToken | undefined,
  ) {
    this.#tx = tx;
    this.#raw = raw;
    this.feePayer = sponsor ?? origin;
  }

  get raw(): Uint8Array {
    return this.#raw ?? this.#arena!.view(this.#offset, this.#length).slice();
  }

  get tx(): StacksTransactionWire {
    if (this.#tx) return this.#tx;
    const raw = this.raw;
    return readPaymentTransaction(raw) ?? deserializeTransaction(raw);
  }

  store(arena: ByteArena): void {
    if (!this.#raw) return;
    this.#length = this.#raw.length;
    this.#offset = arena.append(this.#raw);
    this.#arena = arena;
    this.#raw = undefined;
  }

  release(): void {
    this.#tx = undefined;
  }
}

/** `<address>.<name>` of a contract call's target, or '' when the address cannot be spelled. */
export function contractIdOf(address: { version: number; hash160: string }, name: string): string {
  try {
    return `${addressFromHash160(address.version, address.hash160)}.${name}`;
  } catch {
    // A version c32check cannot spell names no contract at all.
    return '';
  }
}

function checkPayload(
  tx: StacksTransactionWire,
  originAddress: string,
  context: AdmissionContext,
): { ok: true } | Rejection {
  const { payload } = tx;
  if (payload.payloadType === PayloadType.TokenTransfer) {
    const recipient =
      payload.recipient.type === 'address' || payload.recipient.type === 'contract'
        ? payload.recipient.value
        : '';
    const version = recipientVersion(recipient);
    if (
      version !== NETWORK.addressVersion.singleSig &&
      version !== NETWORK.addressVersion.multiSig
    ) {
      return { reason: 'BadAddressVersionByte' };
    }
    if (recipient === originAddress) {
      return { reason: 'TransferRecipientCannotEqualSender', reason_data: { recipient } };
    }
    if (payload.amount === 0n) return { reason: 'TransferAmountMustBePositive' };
    return { ok: true };
  }
  if (payload.payloadType === PayloadType.ContractCall) {
    const contractId = contractIdOf(payload.contractAddress, payload.contractName.content);
    if (context.escrows.has(contractId)) return checkEscrowCall(contractId, payload, context);
    const token = context.tokens.get(contractId);
    if (!token) return { reason: 'NoSuchContract' };
    if (payload.functionName.content !== 'transfer') {
      return {
        reason: 'NoSuchPublicFunction',
        reason_data: {
          message: `${contractId} has no public function ${payload.functionName.content}`,
        },
      };
    }
    const args = payload.functionArgs;
    const types = args.map(argumentKind);
    const matches =
      types.length === TRANSFER_ARGUMENT_TYPES.length &&
      TRANSFER_ARGUMENT_TYPES.every((type, index) => types[index] === type) &&
      isMemo(args[3]!);
    if (!matches) {
      return {
        reason: 'BadFunctionArgument',
        reason_data: {
          message: `transfer expects (uint principal principal (optional (buff 34))), got (${types.join(' ')})`,
        },
      };
    }
    return { ok: true };
  }
  return {
    reason: 'ServerFailureOther',
    reason_data: {
      message:
        'the devnet executes token transfers, SIP-010 transfer calls and batch-escrow calls only',
    },
  };
}

/**
 * A call to batch-escrow: a public function, arguments of its types, and every trait argument a token the devnet
 * executes (a real node would run any deployed SIP-010 contract; this devnet knows only its registered tokens).
 */
function checkEscrowCall(
  contractId: string,
  payload: { functionName: { content: string }; functionArgs: ClarityValue[] },
  context: AdmissionContext,
): { ok: true } | Rejection {
  const name = payload.functionName.content;
  const types = ESCROW_PUBLIC_FUNCTIONS[name];
  if (!types) {
    return {
      reason: 'NoSuchPublicFunction',
      reason_data: { message: `${contractId} has no public function ${name}` },
    };
  }
  if (!argumentsFit(types, payload.functionArgs)) {
    return {
      reason: 'BadFunctionArgument',
      reason_data: { message: `the arguments do not fit ${contractId}'s ${name}` },
    };
  }
  for (const [index, type] of types.entries()) {
    const arg = payload.functionArgs[index]!;
    if (type.kind !== 'optional' || type.of.kind !== 'trait' || arg.type !== 'some') continue;
    const token = arg.value.type === 'contract' ? arg.value.value : '';
    if (!context.tokens.has(token)) {
      return {
        reason: 'BadFunctionArgument',
        reason_data: { message: `the devnet executes no SIP-010 contract ${token}` },
      };
    }
  }
  return { ok: true };
}

function principalOfCondition(hashMode: AddressHashMode, signer: string): string {
  // P2PKH uses the single-sig version; every other hash mode (P2WPKH is P2SH-wrapped) the multi-sig one.
  const version =
    hashMode === AddressHashMode.P2PKH
      ? NETWORK.addressVersion.singleSig
      : NETWORK.addressVersion.multiSig;
  return addressFromHash160(version, signer);
}

function recipientVersion(principal: string): number | undefined {
  const prefix = principal.slice(0, 2);
  return { SP: 22, SM: 20, ST: 26, SN: 21 }[prefix];
}

function argumentKind(value: ClarityValue): string {
  switch (value.type) {
    case 'address':
    case 'contract':
      return 'principal';
    case 'none':
    case 'some':
      return 'optional';
    default:
      return value.type;
  }
}

function isMemo(value: ClarityValue): boolean {
  return (
    value.type === 'none' ||
    (value.type === 'some' && value.value.type === 'buffer' && value.value.value.length <= 68)
  );
}

function deserialization(message: string): Rejection {
  return { reason: 'Deserialization', reason_data: { message } };
}

function signatureRejection(message: string): Rejection {
  return { reason: 'SignatureValidation', reason_data: { message } };
}

function notEnoughFunds(expected: bigint, actual: bigint): Rejection {
  return {
    reason: 'NotEnoughFunds',
    reason_data: { expected: u128Hex(expected), actual: u128Hex(actual) },
  };
}

/** The node's u128 JSON spelling: `0x` and 32 hex digits. */
export function u128Hex(value: bigint): string {
  return `0x${value.toString(16).padStart(32, '0')}`;
}
