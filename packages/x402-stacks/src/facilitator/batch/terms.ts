/**
 * batch-settlement requirements resolved once into typed values, and a payload's channel config held against them:
 * the facilitator's verification steps 1–4.
 * @module
 */

import { channelIdOf } from '../../batch/channel.js';
import {
  BATCH_SETTLEMENT,
  type BatchExtra,
  BatchExtraSchema,
  type BatchPayload,
} from '../../batch/wire.js';
import type { PaymentRequirements } from '../../protocol/v2.js';
import { type ResolveAssetOptions, resolveAsset, type StacksAsset } from '../../stacks/assets.js';
import { resolveNetwork, type StacksNetwork } from '../../stacks/networks.js';
import { parseAtomic } from '../../stacks/units.js';
import { type Refusal, refuse } from '../outcomes.js';

/** What batch-settlement requirements ask for. */
export type BatchTerms = {
  readonly network: StacksNetwork;
  readonly asset: StacksAsset;
  /** The most one request may be charged. */
  readonly price: bigint;
  readonly payTo: string;
  readonly extra: BatchExtra;
  /** The channel token as the config names it: null for STX. */
  readonly token: string | null;
};

/**
 * Steps 1–2: the scheme, the network, an escrow this facilitator serves there, the asset, and `extra`.
 * @example
 * ```ts
 * const terms = resolveBatchTerms(requirements, escrows, tokens);
 * if (!terms.ok) return invalid(terms);
 * ```
 */
export function resolveBatchTerms(
  requirements: PaymentRequirements,
  escrows: ReadonlyMap<string, string>,
  tokens: ResolveAssetOptions | undefined,
): ({ readonly ok: true } & BatchTerms) | Refusal {
  if (requirements.scheme !== BATCH_SETTLEMENT) {
    return refuse('unsupported_scheme', `the scheme is not ${BATCH_SETTLEMENT}`);
  }
  let network: StacksNetwork;
  try {
    network = resolveNetwork(requirements.network);
  } catch {
    return refuse('invalid_network', `${requirements.network} is not a Stacks network`);
  }
  const extra = BatchExtraSchema.safeParse(requirements.extra ?? {});
  if (!extra.success) {
    return refuse(
      'invalid_payment_requirements',
      'extra must name escrow, receiverAuthorizer and withdrawDelay',
    );
  }
  if (escrows.get(network.caip2) !== extra.data.escrow) {
    return refuse(
      'invalid_batch_settlement_stacks_escrow',
      `this facilitator does not serve escrow ${extra.data.escrow} on ${network.caip2}`,
    );
  }
  try {
    const asset = resolveAsset(requirements.asset, network, tokens);
    const price = parseAtomic(requirements.amount);
    if (price === 0n) return refuse('invalid_payment_requirements', 'amount must be above zero');
    return {
      ok: true,
      network,
      asset,
      price,
      payTo: requirements.payTo,
      extra: extra.data,
      token: asset.kind === 'stx' ? null : asset.contractId,
    };
  } catch (error) {
    return refuse(
      'invalid_payment_requirements',
      error instanceof Error ? error.message : String(error),
    );
  }
}

/**
 * Step 4: the payload's channel is the one these terms open, and its voucher names it.
 * @returns the refusal, or undefined.
 */
export function channelConfigProblem(
  payload: BatchPayload,
  terms: BatchTerms,
): Refusal | undefined {
  const { channelConfig: config, voucher } = payload;
  const payer = config.payer;
  if (channelIdOf(config) !== voucher.channelId) {
    return refuse(
      'invalid_batch_settlement_stacks_channel_id_mismatch',
      'the channel config does not hash to voucher.channelId',
      payer,
    );
  }
  if (config.receiver !== terms.payTo) {
    return refuse(
      'invalid_batch_settlement_stacks_receiver_mismatch',
      `the channel pays ${config.receiver}, not ${terms.payTo}`,
      payer,
    );
  }
  if (config.receiverAuthorizer !== terms.extra.receiverAuthorizer) {
    return refuse(
      'invalid_batch_settlement_stacks_receiver_authorizer_mismatch',
      `the channel's receiver-authorizer is ${config.receiverAuthorizer}, not ${terms.extra.receiverAuthorizer}`,
      payer,
    );
  }
  if (config.token !== terms.token) {
    return refuse(
      'invalid_batch_settlement_stacks_token_mismatch',
      `the channel holds ${config.token ?? 'STX'}, not ${terms.token ?? 'STX'}`,
      payer,
    );
  }
  if (config.withdrawDelay !== terms.extra.withdrawDelay) {
    return refuse(
      'invalid_batch_settlement_stacks_withdraw_delay_mismatch',
      `the channel's withdraw delay is ${config.withdrawDelay}, not ${terms.extra.withdrawDelay}`,
      payer,
    );
  }
  return undefined;
}
