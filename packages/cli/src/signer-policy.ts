/**
 * The policy of `x402-stacks signer`, applied to what the transaction it is asked to sign decodes to: the asset, the
 * recipient, the amount and the fee, then the caps of its own budget. Each refusal has a snake_case reason.
 * @module
 */
import type { StacksAccount, StacksNetworkName } from 'x402-stacks';
import { type BudgetStore, DEFAULT_FEES, DEFAULT_MAX_AMOUNT } from 'x402-stacks/client';
import {
  assetKey,
  checkPaymentTransaction,
  originSighash,
  parsePrincipal,
  privateKeySigner,
  readUnsignedPayment,
  resolveAsset,
  STACKS_NETWORKS,
  signOrigin,
} from 'x402-stacks/stacks';

/** The signer's limits, in atomic units, keyed by canonical asset key. */
export type SignerPolicy = {
  network: StacksNetworkName;
  maxAmount: Map<string, bigint>;
  maxFee: bigint;
  allowedPayTo: Set<string> | undefined;
  allowedAssets: Set<string> | undefined;
  total: Map<string, bigint>;
  window: Map<string, bigint>;
  windowMs: number;
};

/** A signature, or why not, with what the transaction decoded to when it could be decoded. */
export type SignerDecision =
  | {
      ok: true;
      signature: string;
      txid: string;
      payTo: string;
      amount: bigint;
      asset: string;
      nonce: bigint;
      fee: bigint;
      sponsored: boolean;
    }
  | {
      ok: false;
      reason: string;
      message: string;
      payTo?: string;
      amount?: bigint;
      asset?: string;
    };

/**
 * Builds the policy from the command's options (symbols or contract ids, principals).
 * @throws {Error} for an asset or principal that is not one on the network.
 */
export function createSignerPolicy(options: {
  network: StacksNetworkName;
  maxAmount: Record<string, bigint> | undefined;
  maxFee: bigint | undefined;
  allowedPayTo: readonly string[] | undefined;
  allowedAssets: readonly string[] | undefined;
  total: Record<string, bigint>;
  window: Record<string, bigint>;
  windowMs: number;
}): SignerPolicy {
  const key = (asset: string) => assetKey(resolveAsset(asset, options.network));
  const keyed = (amounts: Record<string, bigint>) =>
    new Map(Object.entries(amounts).map(([asset, amount]) => [key(asset), amount]));
  return {
    network: options.network,
    maxAmount: keyed(options.maxAmount ?? DEFAULT_MAX_AMOUNT),
    maxFee: options.maxFee ?? DEFAULT_FEES.maxFee,
    allowedPayTo: options.allowedPayTo
      ? new Set(
          options.allowedPayTo.map(
            (payTo) => parsePrincipal(payTo, STACKS_NETWORKS[options.network]).principal,
          ),
        )
      : options.allowedPayTo,
    allowedAssets: options.allowedAssets ? new Set(options.allowedAssets.map(key)) : undefined,
    total: keyed(options.total),
    window: keyed(options.window),
    windowMs: options.windowMs,
  };
}

/**
 * Decides one request: decode, apply the policy, sign, check the signed bytes as a facilitator would, then count it
 * in the budget. The signature leaves only when every step passed, and is counted before it leaves.
 */
export async function decideSignature(
  request: { address: string; sighash: string; transaction: string },
  account: StacksAccount,
  policy: SignerPolicy,
  budget: BudgetStore,
): Promise<SignerDecision> {
  if (request.address !== account.address) {
    return {
      ok: false,
      reason: 'origin_mismatch',
      message: `this signer signs for ${account.address} only`,
    };
  }
  const read = readUnsignedPayment(request.transaction, policy.network);
  if (!read.ok) return { ok: false, reason: read.reason, message: read.message };
  const { payTo, amount, nonce, fee, sponsored } = read;
  const seen = { payTo, amount, asset: read.asset };
  const refuse = (reason: string, message: string) => ({
    ok: false as const,
    reason,
    message,
    ...seen,
  });
  if (read.payer !== account.address) {
    return refuse(
      'origin_mismatch',
      `the transaction is from ${read.payer}, not ${account.address}`,
    );
  }
  let asset: string;
  try {
    asset = assetKey(resolveAsset(read.asset, policy.network));
  } catch {
    return refuse('asset_not_allowed', `${read.asset} is not a known asset`);
  }
  // 1. What the decoded transaction pays, against the policy (never what the caller says it pays).
  if (policy.allowedAssets && !policy.allowedAssets.has(asset)) {
    return refuse('asset_not_allowed', `${asset} is not an allowed asset`);
  }
  const max = policy.maxAmount.get(asset);
  if (max === undefined) return refuse('asset_not_allowed', `${asset} has no maximum per payment`);
  if (policy.allowedPayTo && !policy.allowedPayTo.has(payTo)) {
    return refuse('pay_to_not_allowed', `${payTo} is not an allowed recipient`);
  }
  if (amount > max)
    return refuse('payment_over_max_amount', `${amount} is above the maximum of ${max}`);
  if (!sponsored && fee > policy.maxFee) {
    return refuse('fee_over_max_fee', `fee ${fee} is above the maximum of ${policy.maxFee}`);
  }
  // 2. The hash asked for must be the one of these bytes: a caller cannot show one payment and sign another.
  if (originSighash(read.tx) !== request.sighash.toLowerCase()) {
    return refuse('sighash_mismatch', 'the sighash is not the one of the transaction sent');
  }
  await signOrigin(read.tx, privateKeySigner(account.privateKey, policy.network));
  const condition = read.tx.auth.spendingCondition as { signature: { data: string } };
  const signed = { signature: condition.signature.data, transaction: read.tx.serialize() };
  // 3. The signed bytes, checked as the facilitator will (the transfer function, sender, post-condition).
  const check = checkPaymentTransaction(signed.transaction, read.requirements, {
    postConditionPolicy: 'strict',
    maxFee: policy.maxFee,
  });
  if (!check.isValid)
    return refuse('not_a_payment', `${check.invalidReason}: ${check.invalidMessage}`);
  // 4. The budget: counted for good before the signature leaves. The fee leaves the payer too (in STX, whatever the
  // asset), so an unsponsored fee is counted against the STX caps: otherwise a caller could have any number of tiny
  // payments signed, each burning the largest fee.
  const spends = new Map<string, bigint>([[asset, amount]]);
  if (!sponsored && fee > 0n) spends.set('STX', (spends.get('STX') ?? 0n) + fee);
  const held: string[] = [];
  for (const [spent, value] of spends) {
    const limits = {
      windowMs: policy.windowMs,
      ...(policy.total.has(spent) ? { total: policy.total.get(spent)! } : {}),
      ...(policy.window.has(spent) ? { window: policy.window.get(spent)! } : {}),
    };
    const reserved = await budget.reserve({ asset: spent, amount: value, limits });
    if (!reserved.ok) {
      // Nothing is signed out: what this request reserved so far is given back.
      for (const id of held) await budget.release(id);
      return refuse(
        reserved.cap === 'total' ? 'payment_over_budget' : 'payment_over_window_budget',
        `${value} ${spent === asset ? '' : 'of fee '}would bring the ${reserved.cap} of ${spent} to ${reserved.counted + value}, above ${reserved.limit}`,
      );
    }
    held.push(reserved.id);
  }
  for (const id of held) await budget.consume(id);
  return {
    ok: true,
    signature: signed.signature,
    txid: check.txid,
    payTo,
    amount,
    asset,
    nonce,
    fee,
    sponsored,
  };
}
