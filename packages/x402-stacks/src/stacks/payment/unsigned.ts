/**
 * Reading what an unsigned payment transaction would pay, from its bytes alone: a signer with a policy decides on
 * this, never on what its caller says the transaction is. The full structural check (the `transfer` function, the
 * post-condition, the sender) runs afterwards on the signed bytes, with `checkPaymentTransaction`.
 * @module
 */
import {
  type AddressWire,
  AuthType,
  addressToString,
  ClarityType,
  type FungiblePostConditionWire,
  PayloadType,
  PostConditionType,
  type StacksTransactionWire,
} from '@stacks/transactions';
import { addressFromHash160 } from '../address.js';
import { STACKS_NETWORKS, type StacksNetworkName } from '../networks.js';
import { decodeTransaction } from './decode-transaction.js';
import type { StacksPaymentRequirements } from './terms.js';

/**
 * What an unsigned payment would pay, read from its bytes.
 * @example
 * ```ts
 * const read = readUnsignedPayment(hex, 'testnet');
 * if (read.ok) console.log(read.payTo, read.amount, read.asset);
 * ```
 */
export type UnsignedPayment = {
  readonly ok: true;
  readonly tx: StacksTransactionWire;
  /** The origin address. */
  readonly payer: string;
  readonly payTo: string;
  readonly amount: bigint;
  /** `'STX'`, or the token as `<contract id>::<asset name>` (from the post-condition). */
  readonly asset: string;
  readonly nonce: bigint;
  readonly fee: bigint;
  readonly sponsored: boolean;
  /** The requirements these terms are, for `checkPaymentTransaction` on the signed bytes. */
  readonly requirements: StacksPaymentRequirements;
};

/**
 * Why an unsigned transaction is not a payment that can be read.
 * @example
 * ```ts
 * const refusal: UnsignedPaymentProblem = { ok: false, reason: 'not_a_payment', message: 'a contract deploy' };
 * ```
 */
export type UnsignedPaymentProblem = {
  readonly ok: false;
  readonly reason: 'malformed_transaction' | 'network_mismatch' | 'not_a_payment';
  readonly message: string;
};

/**
 * Decodes an unsigned (or signed) single-sig payment: a STX transfer, or a SIP-010 `transfer` call with a
 * fungible post-condition naming its asset.
 * @example
 * ```ts
 * const read = readUnsignedPayment(request.transaction, 'testnet');
 * ```
 */
export function readUnsignedPayment(
  hex: string,
  networkName: StacksNetworkName,
): UnsignedPayment | UnsignedPaymentProblem {
  const problem = (reason: UnsignedPaymentProblem['reason'], message: string) =>
    ({ ok: false, reason, message }) as const;
  // The same reading as the payment check's: a policy decides only on bytes that are exactly one transaction.
  const decoded = decodeTransaction(hex);
  if ('error' in decoded) return problem('malformed_transaction', decoded.error);
  const { tx } = decoded;
  const network = STACKS_NETWORKS[networkName];
  if (tx.chainId !== network.chainId) {
    return problem('network_mismatch', `the transaction is not for ${networkName}`);
  }
  const condition = tx.auth.spendingCondition;
  if (!('signature' in condition)) return problem('not_a_payment', 'the origin is not single-sig');
  const payer = addressFromHash160(network.addressVersion.singleSig, condition.signer);
  const sponsored = tx.auth.authType === AuthType.Sponsored;
  const base = { tx, payer, nonce: condition.nonce, fee: condition.fee, sponsored };
  const requirementsOf = (payTo: string, amount: bigint, asset: string) => ({
    scheme: 'exact',
    network: network.caip2,
    amount: amount.toString(),
    asset,
    payTo,
    maxTimeoutSeconds: 60,
    // The sponsor's identity is not in the origin's bytes; any principal of the network stands for it.
    ...(sponsored ? { extra: { sponsor: payer } } : {}),
  });
  const { payload } = tx;
  if (payload.payloadType === PayloadType.TokenTransfer) {
    const payTo = principalOf(payload.recipient);
    if (!payTo) return problem('not_a_payment', 'the recipient is not a principal');
    return {
      ok: true,
      ...base,
      payTo,
      amount: payload.amount,
      asset: 'STX',
      requirements: requirementsOf(payTo, payload.amount, 'STX'),
    };
  }
  if (payload.payloadType !== PayloadType.ContractCall) {
    return problem('not_a_payment', 'neither a STX transfer nor a token transfer call');
  }
  const [amountArg, , recipientArg] = payload.functionArgs;
  const fungible = tx.postConditions.values.filter(
    (condition) =>
      'conditionType' in condition && condition.conditionType === PostConditionType.Fungible,
  );
  if (
    payload.functionName.content !== 'transfer' ||
    payload.functionArgs.length !== 4 ||
    amountArg?.type !== ClarityType.UInt ||
    fungible.length !== 1
  ) {
    return problem(
      'not_a_payment',
      'a contract call that is not transfer(amount, sender, recipient, memo) with one token post-condition',
    );
  }
  const payTo = recipientArg ? principalOf(recipientArg) : undefined;
  if (!payTo) return problem('not_a_payment', 'the recipient is not a principal');
  const { asset } = fungible[0] as FungiblePostConditionWire;
  const contractId = contractIdOf(payload.contractAddress, payload.contractName.content);
  if (contractId === undefined) {
    return problem(
      'malformed_transaction',
      'the called contract has an address version no address can carry',
    );
  }
  if (contractIdOf(asset.address, asset.contractName.content) !== contractId) {
    return problem(
      'not_a_payment',
      'the token post-condition names another contract than the one the transfer calls',
    );
  }
  const assetId = `${contractId}::${asset.assetName.content}`;
  const amount = BigInt(amountArg.value);
  return {
    ok: true,
    ...base,
    payTo,
    amount,
    asset: assetId,
    requirements: requirementsOf(payTo, amount, assetId),
  };
}

/** `<address>.<name>`, or undefined for an address version c32 cannot write (above 31): no contract of any chain. */
function contractIdOf(address: AddressWire, name: string): string | undefined {
  try {
    return `${addressToString(address)}.${name}`;
  } catch {
    return undefined;
  }
}

function principalOf(value: { type: string; value?: unknown }): string | undefined {
  if (
    value.type === ClarityType.PrincipalStandard ||
    value.type === ClarityType.PrincipalContract
  ) {
    return typeof value.value === 'string' ? value.value : undefined;
  }
  return undefined;
}
