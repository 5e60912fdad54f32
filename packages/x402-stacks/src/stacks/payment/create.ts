/**
 * Building and signing a payment transaction. Never touches the network: nonce and fee are inputs.
 * @module
 */
import {
  Cl,
  makeUnsignedContractCall,
  makeUnsignedSTXTokenTransfer,
  Pc,
  type StacksTransactionWire,
} from '@stacks/transactions';
import type { StacksAccount } from '../accounts.js';
import type { ResolveAssetOptions } from '../assets.js';
import { PaymentOptionsError } from '../errors.js';
import { transactionIdOf } from '../signature.js';
import { type Signer, signOrigin, toSigner } from '../signer.js';
import { parseAtomic } from '../units.js';
import {
  isTermsProblem,
  MAX_U64,
  type PaymentTerms,
  resolvePaymentTerms,
  type StacksPaymentRequirements,
} from './terms.js';

/**
 * The longest memo a Stacks transfer carries, in UTF-8 bytes. `createPaymentTransaction` refuses a longer `memo` with a
 * `PaymentOptionsError`.
 * @example
 * ```ts
 * const fits = new TextEncoder().encode(memo).length <= MAX_MEMO_BYTES;
 * if (fits) await createPaymentTransaction({ ...options, memo });
 * ```
 */
export const MAX_MEMO_BYTES = 34;

/**
 * What `createPaymentTransaction` takes: who pays, the chosen terms, the nonce, and the fee unless sponsored.
 * @example
 * ```ts
 * const options: CreatePaymentTransactionOptions = { account, requirements: accepts[0], nonce: 4n, fee: 1_000n };
 * ```
 */
export type CreatePaymentTransactionOptions = {
  /**
   * The payer: an account (its key signs here) or a {@link Signer} (asked for the signature over the sighash). Its
   * network must be the requirements' network.
   */
  account: StacksAccount | Signer;
  /** The chosen `accepts[]` entry. */
  requirements: StacksPaymentRequirements;
  /** The account's next nonce (from the chain client, or a local allocator). */
  nonce: bigint | number;
  /** Fee in micro-STX. Required unless sponsored; a sponsored transaction always has fee 0. */
  fee?: bigint | number;
  /** Build a sponsored transaction. Default: true when `requirements.extra.sponsor` is set. */
  sponsored?: boolean;
  /** Optional memo, at most 34 UTF-8 bytes. */
  memo?: string;
  /** Token contract overrides (for example a testnet sBTC deployment). */
  tokens?: ResolveAssetOptions;
};

/**
 * A signed payment, ready to send as `payload.transaction`.
 * @example
 * ```ts
 * const payment: PaymentTransaction = await createPaymentTransaction(options);
 * console.log(payment.txid, payment.nonce);
 * ```
 */
export type PaymentTransaction = {
  /** Signed transaction, hex without `0x`: the value of `payload.transaction`. */
  readonly transaction: string;
  /** Id of these bytes. A sponsored transaction gets a new id once the sponsor signs. */
  readonly txid: string;
  readonly payer: string;
  readonly nonce: bigint;
  readonly fee: bigint;
  readonly sponsored: boolean;
};

const encoder = new TextEncoder();
/** Reads back every character, a byte order mark included: only a lone surrogate comes back otherwise. */
const keepingMarks = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Builds and signs the transaction that pays `requirements`, without broadcasting it or touching the network.
 *
 * - STX: a token transfer with no post-conditions (the node rejects post-conditions on transfers).
 * - SIP-010 (sBTC, USDCx, any token): a `transfer(amount, payer, payTo, memo)` call in deny mode with exactly one
 *   post-condition: the payer sends exactly `amount` of exactly this asset.
 * - Sponsored (when `requirements.extra.sponsor` is set): fee 0 and an empty sponsor slot for the facilitator.
 *
 * @throws {PaymentOptionsError} when the options cannot produce a valid payment.
 * @throws {SignerError} when the signer refuses, cannot be reached, or returns a signature that does not verify.
 * @example
 * ```ts
 * import { createPaymentTransaction, privateKeyToAccount } from 'x402-stacks/stacks';
 * const account = privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY!, 'testnet');
 * const { transaction, txid } = await createPaymentTransaction({
 *   account,
 *   requirements: paymentRequired.accepts[0],
 *   nonce: 7n,
 *   fee: 300n,
 * });
 * ```
 */
export async function createPaymentTransaction(
  options: CreatePaymentTransactionOptions,
): Promise<PaymentTransaction> {
  if (!options || typeof options !== 'object')
    throw new PaymentOptionsError('options are required');
  const { account, requirements } = options;
  const terms = resolvePaymentTerms(requirements, options.tokens);
  if (isTermsProblem(terms)) throw new PaymentOptionsError(terms.message);
  const signer = account ? toSigner(account) : undefined;
  if (!signer) {
    throw new PaymentOptionsError(
      'account must come from privateKeyToAccount or mnemonicToAccount, or be a Signer',
    );
  }
  if (signer.network !== terms.network.name) {
    throw new PaymentOptionsError(
      `the account is on ${signer.network} but the requirements are for ${terms.network.name}`,
    );
  }
  if (terms.payTo.address === signer.address && terms.payTo.contractName === undefined) {
    throw new PaymentOptionsError('payTo is the payer itself; the node refuses self-transfers');
  }
  const sponsored = options.sponsored ?? terms.sponsor !== undefined;
  const nonce = readInteger('nonce', options.nonce);
  const fee = sponsored ? readSponsoredFee(options.fee) : readInteger('fee', options.fee);
  const memo = readMemo(options.memo, terms.asset.kind === 'stx');

  const tx = await buildTransaction(signer, terms, { nonce, fee, sponsored, memo });
  await signOrigin(tx, signer);
  const bytes = tx.serializeBytes();
  return {
    transaction: tx.serialize(),
    txid: transactionIdOf(bytes),
    payer: signer.address,
    nonce,
    fee,
    sponsored,
  };
}

type BuildParameters = { nonce: bigint; fee: bigint; sponsored: boolean; memo: string | undefined };

/** The unsigned transaction, built with the signer's public key; the signer signs it next. */
function buildTransaction(
  account: Signer,
  terms: PaymentTerms,
  { nonce, fee, sponsored, memo }: BuildParameters,
): Promise<StacksTransactionWire> {
  const common = {
    publicKey: account.publicKey,
    network: terms.network.name,
    nonce,
    fee,
    sponsored,
    // Nonce and fee are given, so the builders have no reason to fetch; this makes sure they cannot.
    client: { fetch: refuseNetwork },
  };
  if (terms.asset.kind === 'stx') {
    return makeUnsignedSTXTokenTransfer({
      ...common,
      recipient: terms.payTo.principal,
      amount: terms.amount,
      ...(memo === undefined ? {} : { memo }),
    });
  }
  const { asset } = terms;
  return makeUnsignedContractCall({
    ...common,
    contractAddress: asset.contractAddress,
    contractName: asset.contractName,
    functionName: 'transfer',
    functionArgs: [
      Cl.uint(terms.amount),
      Cl.principal(account.address),
      Cl.principal(terms.payTo.principal),
      memo === undefined ? Cl.none() : Cl.some(Cl.buffer(encoder.encode(memo))),
    ],
    postConditionMode: 'deny',
    postConditions: [
      Pc.principal(account.address).willSendEq(terms.amount).ft(asset.contractId, asset.assetName),
    ],
    validateWithAbi: false,
  });
}

function readInteger(name: string, value: bigint | number | undefined): bigint {
  if (value === undefined) throw new PaymentOptionsError(`${name} is required`);
  let parsed: bigint;
  try {
    parsed = parseAtomic(value);
  } catch {
    throw new PaymentOptionsError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  if (parsed > MAX_U64) throw new PaymentOptionsError(`${name} is above the u64 maximum`);
  return parsed;
}

function readSponsoredFee(value: bigint | number | undefined): bigint {
  if (value !== undefined && value !== 0 && value !== 0n) {
    throw new PaymentOptionsError('a sponsored transaction has fee 0; the sponsor pays the fee');
  }
  return 0n;
}

/**
 * The memo as given, when the chain can carry it as written: at most 34 UTF-8 bytes, and no lone surrogate (which has no
 * UTF-8 form: the encoder writes U+FFFD in its place). A STX transfer's memo is read back as text, and every reader
 * (the payment check, the node's API) drops a leading byte order mark, so there one is refused too; a token's memo is
 * a buffer, kept byte for byte.
 */
function readMemo(memo: string | undefined, readAsText: boolean): string | undefined {
  if (memo === undefined) return undefined;
  if (typeof memo !== 'string') throw new PaymentOptionsError('memo must be a string');
  const bytes = encoder.encode(memo);
  if (bytes.length > MAX_MEMO_BYTES) {
    throw new PaymentOptionsError(`memo is ${bytes.length} bytes; at most ${MAX_MEMO_BYTES} fit`);
  }
  if (keepingMarks.decode(bytes) !== memo) {
    throw new PaymentOptionsError('memo holds a lone surrogate, which UTF-8 cannot carry');
  }
  if (readAsText && memo.startsWith('\uFEFF')) {
    throw new PaymentOptionsError(
      'a STX memo cannot start with a byte order mark: it is dropped when read back',
    );
  }
  return memo;
}

async function refuseNetwork(): Promise<Response> {
  throw new PaymentOptionsError('createPaymentTransaction never touches the network');
}
