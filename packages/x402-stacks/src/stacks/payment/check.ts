/**
 * The pure check of a Stacks exact payment: does this signed transaction pay exactly what the requirements ask, and
 * would a node admit it? No network, no clock, no state: what it needs from the chain (next nonce, balances) is passed
 * in. Business failures are values with a stable reason code, never exceptions.
 * @module
 */
import {
  AddressHashMode,
  type AddressWire,
  AnchorMode,
  AuthType,
  type ClarityValue,
  FungibleConditionCode,
  PayloadType,
  PostConditionMode,
  PostConditionPrincipalId,
  PostConditionType,
  type StacksTransactionWire,
} from '@stacks/transactions';
import type { ReasonCode } from '../../protocol/reasons.js';
import { addressFromHash160, parseStacksAddress } from '../address.js';
import { assetKey, isExactTransferToken, type ResolveAssetOptions, STX_ASSET } from '../assets.js';
import { STACKS_NETWORKS } from '../networks.js';
import { transactionIdOf, verifyOriginSignature } from '../signature.js';
import { parseAtomic } from '../units.js';
import { MAX_MEMO_BYTES } from './create.js';
import { decodeTransaction } from './decode-transaction.js';
import {
  isTermsProblem,
  type PaymentTerms,
  resolvePaymentTerms,
  type StacksPaymentRequirements,
} from './terms.js';

/**
 * How post-condition allow mode is treated for SIP-010 payments.
 * - `strict`: allow mode is refused everywhere.
 * - `compatible` (default): allow mode is accepted only for tokens whose `transfer` is known to move exactly `amount`
 *   (sBTC, USDCx), because existing x402-stacks clients sign that way.
 * @example
 * ```ts
 * const policy: PostConditionPolicy = 'strict';
 * checkPaymentTransaction(transaction, requirements, { postConditionPolicy: policy });
 * createFacilitator({ networks, postConditionPolicy: policy }); // the same choice for a facilitator
 * ```
 */
export type PostConditionPolicy = 'strict' | 'compatible';

/**
 * What `checkPaymentTransaction` checks besides the requirements: the payer's chain state when known, the
 * post-condition policy, the largest fee, and token contract overrides. Without chain state the check is offline.
 * @example
 * ```ts
 * const options: CheckPaymentOptions = { expectedNonce: 4n, balance: { stx: 10_000n }, maxFee: 50_000n };
 * checkPaymentTransaction(transaction, requirements, options);
 * ```
 */
export type CheckPaymentOptions = {
  /** The payer's next possible nonce on chain; the transaction must use it (or one within `maxNonceAhead` of it). */
  expectedNonce?: bigint | number;
  /**
   * How far past `expectedNonce` a nonce may be: a buyer paying several requests at once signs consecutive nonces,
   * and the node keeps up to 25 chained ones in its mempool. Default 0: exactly the next nonce.
   */
  maxNonceAhead?: bigint;
  /** What the payer holds: `stx` in micro-STX, `token` in the paid token's atomic units. */
  balance?: { stx?: bigint; token?: bigint };
  /** Default `'compatible'`. */
  postConditionPolicy?: PostConditionPolicy;
  /** Largest fee (micro-STX) accepted on an unsponsored payment. */
  maxFee?: bigint;
  /** Token contract overrides (for example a testnet sBTC deployment). */
  tokens?: ResolveAssetOptions;
};

/**
 * Facts read from a transaction that passed every check.
 * @example
 * ```ts
 * const check = checkPaymentTransaction(transaction, requirements);
 * if (check.isValid) console.log(check.payer, check.amount, check.txid); // check: ValidPaymentCheck
 * ```
 */
export type ValidPaymentCheck = {
  readonly isValid: true;
  readonly payer: string;
  /**
   * Id of the bytes given. Broadcast (or sponsor) those exact bytes: re-serializing the decoded transaction can
   * differ from them (a memo that is not UTF-8 is rewritten), which would change the id and break the signature.
   */
  readonly txid: string;
  readonly nonce: bigint;
  /** The origin's fee; 0 when sponsored (the sponsor's fee is set later, by the sponsor). */
  readonly fee: bigint;
  readonly sponsored: boolean;
  readonly amount: bigint;
  /** `'STX'` or `'<contract id>::<asset name>'`. */
  readonly asset: string;
  /**
   * The transaction's post-condition mode. For a token payment `'allow'` means the compatible policy accepted it
   * (an exact-transfer token); recorded so settlements can show it. For STX it has no effect.
   */
  readonly postConditionMode: 'allow' | 'deny';
  readonly byteLength: number;
};

/**
 * A refusal, with whatever was learned about the transaction before the failing step. Its `invalidReason` is the reason
 * code a verify answer carries.
 * @example
 * ```ts
 * const check = checkPaymentTransaction(transaction, requirements);
 * if (!check.isValid) return { isValid: false, invalidReason: check.invalidReason, payer: check.payer };
 * ```
 */
export type InvalidPaymentCheck = {
  readonly isValid: false;
  readonly invalidReason: ReasonCode;
  readonly invalidMessage: string;
  readonly payer?: string;
  readonly txid?: string;
  readonly nonce?: bigint;
  readonly fee?: bigint;
  readonly sponsored?: boolean;
};

/**
 * What `checkPaymentTransaction` found: the payment's facts, or the reason it is refused.
 * @example
 * ```ts
 * const check: PaymentCheck = checkPaymentTransaction(transaction, requirements);
 * if (!check.isValid) console.error(check.invalidReason, check.invalidMessage);
 * ```
 */
export type PaymentCheck = ValidPaymentCheck | InvalidPaymentCheck;

const EMPTY_SIGNATURE = '0'.repeat(130);

/**
 * Checks a signed payment transaction against payment requirements.
 *
 * Steps, in order (the first failure is returned):
 *  1. deserialize (hex, size, no trailing bytes);
 *  2. origin signature, including low-S;
 *  3. chain id and transaction version;
 *  4. payload type: a token transfer for STX, a contract call for a SIP-010 token;
 *  5. asset: the token contract, the `transfer` function and its argument types (uint, principal, principal,
 *     optional buff of at most 34 bytes);
 *  6. recipient = payTo;
 *  7. amount = the required amount, exactly;
 *  8. `transfer` sender = origin;
 *  9. post-condition mode and conditions, under the policy;
 * 10. fee floor (1 micro-STX per byte) and cap, unless sponsored;
 * 11. sponsor fields match what the requirements offer;
 * 12. nonce and balance, when given.
 *
 * Steps 5 runs before 6 and 7 because a contract call carries recipient and amount as arguments, whose types must be
 * known before they can be read.
 *
 * @example
 * ```ts
 * import { checkPaymentTransaction } from 'x402-stacks';
 * const check = checkPaymentTransaction(payload.transaction, requirements, { expectedNonce: 7n });
 * if (!check.isValid) return { isValid: false, invalidReason: check.invalidReason, payer: check.payer };
 * ```
 */
export function checkPaymentTransaction(
  transactionHex: string,
  requirements: StacksPaymentRequirements,
  options: CheckPaymentOptions = {},
): PaymentCheck {
  const terms = resolvePaymentTerms(requirements, options.tokens);
  if (isTermsProblem(terms)) return invalid(terms.reason, terms.message, {});
  return checkAgainstTerms(transactionHex, terms, options);
}

/**
 * The same check against terms already resolved from the requirements (the facilitator resolves them once per
 * payment, for every step). Internal: not exported from the package.
 */
export function checkAgainstTerms(
  transactionHex: string,
  terms: PaymentTerms,
  options: CheckPaymentOptions = {},
): PaymentCheck {
  // 1–3. Deserialize; origin signature; chain id, version and anchor mode.
  const envelope = checkEnvelope(transactionHex, terms.network);
  if (!envelope.ok) return envelope.refusal;
  const { raw, tx, known, payerVersion } = envelope;

  // 4. Payload type.
  const transfer = readTransfer(tx, terms);
  if ('reason' in transfer) return invalid(transfer.reason, transfer.message, known);

  // 5. Asset contract, function and argument types: done while reading the transfer above.

  // 6. Recipient = payTo.
  if (transfer.recipient !== terms.payTo.principal) {
    return invalid(
      'invalid_exact_stacks_payload_recipient_mismatch',
      `pays ${transfer.recipient}, not ${terms.payTo.principal}`,
      known,
    );
  }
  if (transfer.recipient === known.payer) {
    return invalid(
      'invalid_exact_stacks_payload_recipient_mismatch',
      'the payer pays itself',
      known,
    );
  }

  // 7. Amount, exactly.
  if (transfer.amount !== terms.amount) {
    return invalid(
      'invalid_exact_stacks_payload_amount_mismatch',
      `transfers ${transfer.amount}, the requirements ask exactly ${terms.amount}`,
      known,
    );
  }

  // 8. The `transfer` sender is the origin (sbtc-token would abort with (err u4) otherwise).
  if (transfer.sender !== undefined && transfer.sender !== known.payer) {
    return invalid(
      'invalid_exact_stacks_payload_sender_mismatch',
      `transfer sender ${transfer.sender} is not the signer ${known.payer}`,
      known,
    );
  }

  // 9. Post-condition mode and conditions.
  const postConditions = checkPostConditions(tx, terms, payerVersion, options.postConditionPolicy);
  if (typeof postConditions !== 'string') {
    return invalid(postConditions.reason, postConditions.message, known);
  }

  // 10–11. Fee floor and cap, unless the sponsor pays; sponsor fields.
  const feeProblem = checkFeeAndSponsor(raw, tx, terms.sponsor, options.maxFee, known);
  if (feeProblem) return feeProblem;

  const valid: ValidPaymentCheck = {
    isValid: true,
    payer: known.payer,
    txid: known.txid,
    nonce: known.nonce,
    fee: known.fee,
    sponsored: known.sponsored,
    amount: transfer.amount,
    asset: assetKey(terms.asset),
    postConditionMode: postConditions,
    byteLength: raw.length,
  };
  // 12. Nonce and balance, when the caller read them from the chain.
  return checkChainState(valid, options);
}

/**
 * Step 12 alone: a transaction that passed the offline checks, against the payer's chain state. The facilitator
 * runs the offline steps once, reads the chain only for payments worth the request, then finishes here, without
 * decoding and recovering the signature a second time.
 * @example
 * ```ts
 * const offline = checkPaymentTransaction(hex, requirements);
 * if (offline.isValid) {
 *   const [nonce, stx] = await Promise.all([chain.getNextNonce(offline.payer), chain.getStxBalance(offline.payer)]);
 *   const check = checkChainState(offline, { expectedNonce: nonce, balance: { stx } });
 * }
 * ```
 */
export function checkChainState(
  check: ValidPaymentCheck,
  state: Pick<CheckPaymentOptions, 'expectedNonce' | 'maxNonceAhead' | 'balance'>,
): PaymentCheck {
  const { payer, txid, nonce, fee, sponsored } = check;
  const known = { payer, txid, nonce, fee, sponsored };
  if (state.expectedNonce !== undefined) {
    const expected = parseAtomic(state.expectedNonce);
    const ahead = state.maxNonceAhead ?? 0n;
    if (nonce < expected || nonce > expected + ahead) {
      const window = ahead === 0n ? '' : ` (or up to ${ahead} past it)`;
      return invalid(
        'invalid_exact_stacks_payload_nonce',
        `nonce ${nonce} is not the next possible nonce ${expected}${window}`,
        known,
      );
    }
  }
  const shortfall = balanceShortfall(state.balance, check);
  if (shortfall) return invalid('insufficient_funds', shortfall, known);
  return check;
}

/** A transaction that passed steps 1–3, with what was read from it. */
export type CheckedEnvelope = {
  readonly ok: true;
  readonly raw: Uint8Array;
  readonly tx: StacksTransactionWire;
  readonly known: Known;
  /** The origin's address version, for post-conditions naming it. */
  readonly payerVersion: number;
};

/**
 * Steps 1–3, shared by every payment a Stacks scheme carries as a signed transaction (an exact transfer, a
 * batch-settlement deposit): decode the bytes exactly, check the origin signature (low-S), and the chain id, version
 * and anchor mode. Internal: not exported from the package.
 * @example
 * ```ts
 * const envelope = checkEnvelope(hex, network);
 * if (!envelope.ok) return envelope.refusal;
 * ```
 */
export function checkEnvelope(
  transactionHex: string,
  network: PaymentTerms['network'],
): CheckedEnvelope | { readonly ok: false; readonly refusal: InvalidPaymentCheck } {
  const refuse = (reason: ReasonCode, message: string, known: Partial<Known>) => ({
    ok: false as const,
    refusal: invalid(reason, message, known),
  });
  // 1. Deserialize.
  const decoded = decodeTransaction(transactionHex);
  if ('error' in decoded) {
    const reason =
      decoded.reason ?? 'invalid_exact_stacks_payload_transaction_could_not_be_decoded';
    return refuse(reason, decoded.error, {});
  }
  const { raw, tx } = decoded;
  const origin = tx.auth.spendingCondition;
  const sponsored = tx.auth.authType === AuthType.Sponsored;
  const payerVersion = originAddressVersion(tx);
  const known: Known = {
    payer: addressFromHash160(payerVersion, origin.signer),
    txid: transactionIdOf(raw),
    nonce: origin.nonce,
    fee: origin.fee,
    sponsored,
  };

  // 2. Origin signature, including low-S (the node refuses high-S as malleable).
  const signature = verifyOriginSignature(raw, tx);
  if (!signature.valid) {
    return refuse(
      'invalid_exact_stacks_payload_signature',
      'the origin signature does not verify',
      known,
    );
  }
  if (signature.highS) {
    return refuse(
      'invalid_exact_stacks_payload_signature_high_s',
      'the origin signature has a high S',
      known,
    );
  }

  // 3. Chain id, transaction version, and an anchor mode a Nakamoto miner includes.
  if (tx.chainId !== network.chainId || tx.transactionVersion !== network.transactionVersion) {
    return refuse(
      'invalid_exact_stacks_payload_network',
      `the transaction is for chain ${tx.chainId} version ${tx.transactionVersion}, not ${network.caip2}`,
      known,
    );
  }
  if (tx.anchorMode !== AnchorMode.OnChainOnly && tx.anchorMode !== AnchorMode.Any) {
    // Microblock-only transactions are never confirmed since epoch 2.5: settlement would hang, and a sponsor's nonce
    // would be stuck behind it.
    return refuse(
      'invalid_exact_stacks_payload_anchor_mode',
      'the transaction may only be mined in a microblock',
      known,
    );
  }

  return { ok: true, raw, tx, known, payerVersion };
}

/**
 * Steps 10–11, shared like {@link checkEnvelope}: the fee floor (1 micro-STX per byte, the node's admission rule) and
 * cap unless sponsored, and a sponsored transaction's placeholder sponsor slot for an offered sponsor.
 * @returns the refusal, or undefined.
 */
export function checkFeeAndSponsor(
  raw: Uint8Array,
  tx: StacksTransactionWire,
  sponsor: string | undefined,
  maxFee: bigint | undefined,
  known: Known,
): InvalidPaymentCheck | undefined {
  const origin = tx.auth.spendingCondition;
  if (!known.sponsored) {
    if (origin.fee < BigInt(raw.length) || origin.fee < 1n) {
      return invalid(
        'invalid_exact_stacks_payload_fee',
        `fee ${origin.fee} is below 1 micro-STX per byte (${raw.length} bytes)`,
        known,
      );
    }
    if (maxFee !== undefined && origin.fee > maxFee) {
      return invalid(
        'invalid_exact_stacks_payload_fee',
        `fee ${origin.fee} is above the cap of ${maxFee}`,
        known,
      );
    }
  }

  // 11. Sponsor fields.
  const sponsorProblem = checkSponsor(tx, sponsor);
  if (sponsorProblem) return invalid('invalid_exact_stacks_payload_sponsor', sponsorProblem, known);

  return undefined;
}

export type Known = {
  payer: string;
  txid: string;
  nonce: bigint;
  fee: bigint;
  sponsored: boolean;
};

type Refusal = { reason: ReasonCode; message: string };

/** The transfer a transaction makes, read from either payload kind. `sender` is only set for token calls. */
type Transfer = { recipient: string; amount: bigint; sender: string | undefined };

// stacks-core addresses P2PKH with the single-sig version and every other hash mode (P2WPKH included, which is
// P2SH-wrapped) with the multi-sig version.
function originAddressVersion(tx: StacksTransactionWire): number {
  const network =
    tx.transactionVersion === STACKS_NETWORKS.mainnet.transactionVersion
      ? STACKS_NETWORKS.mainnet
      : STACKS_NETWORKS.testnet;
  return tx.auth.spendingCondition.hashMode === AddressHashMode.P2PKH
    ? network.addressVersion.singleSig
    : network.addressVersion.multiSig;
}

// Steps 4 and 5: the payload must be the kind the asset calls for, and a token call must be the token's `transfer`.
function readTransfer(tx: StacksTransactionWire, terms: PaymentTerms): Transfer | Refusal {
  const { payload } = tx;
  const { asset } = terms;
  if (asset.kind === 'stx') {
    if (payload.payloadType !== PayloadType.TokenTransfer) {
      return refusal(
        'invalid_exact_stacks_payload_payload_type',
        'an STX payment must be a token transfer',
      );
    }
    return { recipient: principalOf(payload.recipient), amount: payload.amount, sender: undefined };
  }
  if (payload.payloadType !== PayloadType.ContractCall) {
    return refusal(
      'invalid_exact_stacks_payload_payload_type',
      `a ${asset.symbol ?? 'SIP-010'} payment must be a contract call`,
    );
  }
  if (
    !isAddress(payload.contractAddress, asset.contractAddress) ||
    payload.contractName.content !== asset.contractName
  ) {
    const called = `${describeAddress(payload.contractAddress)}.${payload.contractName.content}`;
    return refusal(
      'invalid_exact_stacks_payload_asset_mismatch',
      `calls ${called}, not ${asset.contractId}`,
    );
  }
  if (payload.functionName.content !== 'transfer') {
    return refusal(
      'invalid_exact_stacks_payload_function',
      `calls ${payload.functionName.content}, not transfer`,
    );
  }
  const [amount, sender, recipient, memo, ...extra] = payload.functionArgs;
  if (
    extra.length > 0 ||
    amount?.type !== 'uint' ||
    !isPrincipal(sender) ||
    !isPrincipal(recipient) ||
    !(memo?.type === 'none' || (memo?.type === 'some' && memo.value.type === 'buffer'))
  ) {
    return refusal(
      'invalid_exact_stacks_payload_arguments',
      `transfer takes (uint, principal, principal, (optional (buff 34))); got (${payload.functionArgs
        .map((arg) => arg.type)
        .join(', ')})`,
    );
  }
  if (
    memo.type === 'some' &&
    memo.value.type === 'buffer' &&
    memo.value.value.length / 2 > MAX_MEMO_BYTES
  ) {
    return refusal(
      'invalid_exact_stacks_payload_memo',
      `memo is ${memo.value.value.length / 2} bytes; transfer takes at most ${MAX_MEMO_BYTES}`,
    );
  }
  return { amount: BigInt(amount.value), sender: sender.value, recipient: recipient.value };
}

// Step 9.
function checkPostConditions(
  tx: StacksTransactionWire,
  terms: PaymentTerms,
  payerVersion: number,
  policy: PostConditionPolicy = 'compatible',
): 'allow' | 'deny' | Refusal {
  const conditions = tx.postConditions.values;
  const mode = tx.postConditionMode === PostConditionMode.Allow ? 'allow' : 'deny';
  if (terms.asset.kind === 'stx') {
    // Block processing rejects a token transfer that carries any post-condition.
    if (conditions.length > 0) {
      return refusal(
        'invalid_exact_stacks_payload_post_conditions',
        'an STX transfer must carry no post-conditions',
      );
    }
    return mode;
  }
  if (mode === 'allow') {
    if (policy === 'strict') {
      return refusal(
        'invalid_exact_stacks_payload_post_condition_mode',
        'allow mode is refused by the strict policy',
      );
    }
    if (!isExactTransferToken(terms.asset)) {
      return refusal(
        'invalid_exact_stacks_payload_post_condition_mode',
        `allow mode is accepted only for tokens known to transfer exactly the amount; ${terms.asset.contractId} is not one`,
      );
    }
    // Older clients send allow mode with no conditions; a condition, if present, must still be the exact one.
    if (conditions.length === 0) return mode;
  }
  if (conditions.length !== 1) {
    return refusal(
      'invalid_exact_stacks_payload_post_conditions',
      `expected exactly one post-condition, found ${conditions.length}`,
    );
  }
  // Compared on the wire form: re-encoding addresses to strings would cost more than the rest of this step.
  const condition = conditions[0]!;
  const { asset } = terms;
  const expectedAsset = assetKey(asset);
  if (
    condition.conditionType !== PostConditionType.Fungible ||
    !(
      condition.principal.prefix === PostConditionPrincipalId.Origin ||
      (condition.principal.prefix === PostConditionPrincipalId.Standard &&
        condition.principal.address.version === payerVersion &&
        condition.principal.address.hash160 === tx.auth.spendingCondition.signer)
    ) ||
    condition.conditionCode !== FungibleConditionCode.Equal ||
    condition.amount !== terms.amount ||
    !isAddress(condition.asset.address, asset.contractAddress) ||
    condition.asset.contractName.content !== asset.contractName ||
    condition.asset.assetName.content !== asset.assetName
  ) {
    return refusal(
      'invalid_exact_stacks_payload_post_conditions',
      `the post-condition must be: the payer sends exactly ${terms.amount} ${expectedAsset}`,
    );
  }
  return mode;
}

// Step 11. A sponsored transaction cannot go on chain until a sponsor signs it, so it is payable only through a
// facilitator that offers sponsorship; and the sponsor slot must be the empty placeholder it will fill.
function checkSponsor(tx: StacksTransactionWire, sponsor: string | undefined): string | undefined {
  if (tx.auth.authType !== AuthType.Sponsored) return undefined;
  if (sponsor === undefined) {
    return 'the transaction is sponsored, but the requirements offer no sponsor';
  }
  if (tx.auth.spendingCondition.fee !== 0n) return 'a sponsored transaction must have origin fee 0';
  const slot = tx.auth.sponsorSpendingCondition;
  if (
    !('signature' in slot) ||
    slot.nonce !== 0n ||
    slot.fee !== 0n ||
    slot.signature.data !== EMPTY_SIGNATURE
  ) {
    return 'the sponsor slot must be the unsigned placeholder';
  }
  return undefined;
}

// Step 12 (balance part). A sponsored payment's fee is 0 here: the sponsor pays it.
function balanceShortfall(
  balance: CheckPaymentOptions['balance'],
  check: ValidPaymentCheck,
): string | undefined {
  if (!balance) return undefined;
  const paysInStx = check.asset === assetKey(STX_ASSET);
  const stxNeeded = paysInStx ? check.amount + check.fee : check.fee;
  if (balance.stx !== undefined && balance.stx < stxNeeded) {
    return `the payer holds ${balance.stx} micro-STX and needs ${stxNeeded}`;
  }
  if (!paysInStx && balance.token !== undefined && balance.token < check.amount) {
    return `the payer holds ${balance.token} of ${check.asset} and needs ${check.amount}`;
  }
  return undefined;
}

function isAddress(wire: AddressWire, address: string): boolean {
  const parsed = parseStacksAddress(address);
  return wire.version === parsed.version && wire.hash160 === parsed.hash160;
}

// A decoded address can carry a version c32check cannot encode; describe it without throwing.
function describeAddress(wire: AddressWire): string {
  try {
    return addressFromHash160(wire.version, wire.hash160);
  } catch {
    return `<version ${wire.version} hash160 ${wire.hash160}>`;
  }
}

function isPrincipal(
  value: ClarityValue | undefined,
): value is Extract<ClarityValue, { type: 'address' | 'contract' }> {
  return value?.type === 'address' || value?.type === 'contract';
}

function principalOf(value: ClarityValue): string {
  return isPrincipal(value) ? value.value : '';
}

function refusal(reason: ReasonCode, message: string): Refusal {
  return { reason, message };
}

function invalid(reason: ReasonCode, message: string, known: Partial<Known>): InvalidPaymentCheck {
  return { isValid: false, invalidReason: reason, invalidMessage: message, ...known };
}
