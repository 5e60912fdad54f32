/**
 * The pure check of a deposit transaction: is this signed transaction the escrow's `deposit` of exactly `amount` into
 * exactly this channel, paid by the channel's payer, in deny mode with the one post-condition that bounds what it may
 * take? Its envelope (decoding, origin signature, chain, fee, sponsor slot) is checked as an exact payment's is, with
 * the same reasons.
 * @module
 */
import {
  FungibleConditionCode,
  PayloadType,
  PostConditionMode,
  PostConditionPrincipalId,
  PostConditionType,
  type StacksTransactionWire,
  serializeCV,
} from '@stacks/transactions';
import { channelConfigCV } from '../../batch/channel.js';
import type { ChannelConfig } from '../../batch/wire.js';
import { parsePrincipal } from '../../stacks/address.js';
import { assetKey, type StacksAsset } from '../../stacks/assets.js';
import type { StacksNetwork } from '../../stacks/networks.js';
import {
  checkEnvelope,
  checkFeeAndSponsor,
  type PaymentCheck,
} from '../../stacks/payment/check.js';

/** What the deposit must be. */
export type ExpectedDeposit = {
  readonly network: StacksNetwork;
  readonly escrow: string;
  readonly config: ChannelConfig;
  readonly amount: bigint;
  readonly asset: StacksAsset;
  /** The sponsor the offer names, when the facilitator pays the fee. */
  readonly sponsor: string | undefined;
  /** Largest fee accepted on an unsponsored deposit. */
  readonly maxFee?: bigint;
};

const REASON = 'invalid_batch_settlement_stacks_deposit_transaction';

/**
 * Checks a deposit transaction (hex) offline.
 * @example
 * ```ts
 * const check = checkDepositTransaction(payload.deposit.transaction, { network, escrow, config, amount, asset, sponsor });
 * if (!check.isValid) return refuse(check.invalidReason, check.invalidMessage, check.payer);
 * ```
 */
export function checkDepositTransaction(hex: string, expected: ExpectedDeposit): PaymentCheck {
  const envelope = checkEnvelope(hex, expected.network);
  if (!envelope.ok) return envelope.refusal;
  const { raw, tx, known, payerVersion } = envelope;
  const refuse = (message: string): PaymentCheck => ({
    isValid: false,
    invalidReason: REASON,
    invalidMessage: message,
    ...known,
  });
  if (known.payer !== expected.config.payer) {
    return refuse(`signed by ${known.payer}, not the channel's payer ${expected.config.payer}`);
  }
  const call = depositCallProblem(tx, expected);
  if (call) return refuse(call);
  if (!isExactSendCondition(tx, expected, payerVersion)) {
    return refuse(
      `the transaction must be in deny mode with one post-condition: the payer sends exactly ${expected.amount} ${assetKey(expected.asset)}`,
    );
  }
  const fee = checkFeeAndSponsor(raw, tx, expected.sponsor, expected.maxFee, known);
  if (fee) return fee;
  return {
    isValid: true,
    ...known,
    amount: expected.amount,
    asset: assetKey(expected.asset),
    postConditionMode: 'deny',
    byteLength: raw.length,
  };
}

function depositCallProblem(
  tx: StacksTransactionWire,
  expected: ExpectedDeposit,
): string | undefined {
  const { payload } = tx;
  if (payload.payloadType !== PayloadType.ContractCall) return 'a deposit is a contract call';
  const escrow = parsePrincipal(expected.escrow);
  if (
    payload.contractAddress.hash160 !== escrow.hash160 ||
    payload.contractAddress.version !== escrow.version ||
    payload.contractName.content !== escrow.contractName
  ) {
    return `the call is not to ${expected.escrow}`;
  }
  if (payload.functionName.content !== 'deposit') {
    return `the call is ${payload.functionName.content}, not deposit`;
  }
  const [config, amount, token, ...rest] = payload.functionArgs;
  if (!config || rest.length > 0) return 'deposit takes (config, amount, token)';
  if (serializeCV(config) !== serializeCV(channelConfigCV(expected.config))) {
    return 'the config argument is not the payload’s channel config';
  }
  if (amount?.type !== 'uint' || BigInt(amount.value) !== expected.amount) {
    return `the amount argument is not ${expected.amount}`;
  }
  const tokenContract = expected.config.token;
  const tokenMatches =
    tokenContract === null
      ? token?.type === 'none'
      : token?.type === 'some' &&
        token.value.type === 'contract' &&
        token.value.value === tokenContract;
  if (!tokenMatches)
    return `the token argument must be ${tokenContract ? `(some ${tokenContract})` : 'none'}`;
  return undefined;
}

function isExactSendCondition(
  tx: StacksTransactionWire,
  expected: ExpectedDeposit,
  payerVersion: number,
): boolean {
  if (tx.postConditionMode !== PostConditionMode.Deny) return false;
  const conditions = tx.postConditions.values;
  if (conditions.length !== 1) return false;
  const condition = conditions[0]!;
  const byPayer =
    condition.principal.prefix === PostConditionPrincipalId.Origin ||
    (condition.principal.prefix === PostConditionPrincipalId.Standard &&
      condition.principal.address.version === payerVersion &&
      condition.principal.address.hash160 === tx.auth.spendingCondition.signer);
  if (!byPayer) return false;
  const { asset } = expected;
  if (asset.kind === 'stx') {
    return (
      condition.conditionType === PostConditionType.STX &&
      condition.conditionCode === FungibleConditionCode.Equal &&
      condition.amount === expected.amount
    );
  }
  if (condition.conditionType !== PostConditionType.Fungible) return false;
  const contract = parsePrincipal(asset.contractId);
  return (
    condition.conditionCode === FungibleConditionCode.Equal &&
    condition.amount === expected.amount &&
    condition.asset.address.hash160 === contract.hash160 &&
    condition.asset.address.version === contract.version &&
    condition.asset.contractName.content === asset.contractName &&
    condition.asset.assetName.content === asset.assetName
  );
}
