/**
 * Verification of a batch-settlement payment, as numbered steps: everything that can be known without moving money.
 * `verify` answers with it; `settle` runs it again before it charges, deposits or refunds.
 * @module
 */

import { acceptedMismatch } from '../../batch/accepted.js';
import { isVoucherSignedBy } from '../../batch/channel.js';
import { readEscrowChannel } from '../../batch/escrow-reads.js';
import {
  type BatchPayload,
  BatchPayloadSchema,
  type ChannelState,
  type VoucherState,
} from '../../batch/wire.js';
import type { ChainClient } from '../../chain/client.js';
import type { PaymentPayload, PaymentRequirements } from '../../protocol/v2.js';
import { assetKey } from '../../stacks/assets.js';
import { checkChainState } from '../../stacks/payment/check.js';
import type { MechanismHost } from '../mechanism.js';
import { type Refusal, refuse } from '../outcomes.js';
import { type ExaminedPayment, readPayerState } from '../verify.js';
import { type ChannelLedger, type EscrowChannelState, mirrorAge } from './channel-ledger.js';
import { checkDepositTransaction } from './deposit-check.js';
import { type BatchTerms, channelConfigProblem, resolveBatchTerms } from './terms.js';

/** The channel as a payment finds it: the escrow's state and the receiver side's charged total and voucher. */
export type ChannelView = EscrowChannelState & {
  readonly charged: bigint;
  readonly signedMax: bigint;
  readonly signature: string;
  /** Until when a refund holds the channel (`ChannelRecord.frozenUntil`). */
  readonly frozenUntil?: number;
  /** Whether the ledger holds it (false: read from the chain, or a channel the deposit opens). */
  readonly known: boolean;
};

/** A payment that passed every step. */
export type ExaminedBatch = {
  readonly ok: true;
  readonly terms: BatchTerms;
  readonly payload: BatchPayload;
  readonly escrow: string;
  readonly chain: ChainClient;
  readonly channel: ChannelView;
  /** The deposit transaction, examined as a payment to the escrow, for a deposit payload. */
  readonly deposit?: ExaminedPayment;
};

/** A refusal, with the snapshot a seller turns into a corrective 402 when the cumulative totals disagree. */
export type BatchRefusal = Refusal & {
  readonly corrective?: {
    readonly channelState: ChannelState;
    readonly voucherState?: VoucherState;
  };
};

/** What examining needs beside the host. */
export type BatchSettings = {
  readonly escrows: ReadonlyMap<string, string>;
  /** This facilitator's receiver-authorizer address per network: the only one its claims and refunds can speak for. */
  readonly receiverAuthorizers: ReadonlyMap<string, string>;
  readonly channels: ChannelLedger;
};

/**
 * Steps 1–10.
 * @example
 * ```ts
 * const examined = await examineBatch(host, settings, payload, requirements, 'verify');
 * if (!examined.ok) return invalid(examined);
 * ```
 */
export async function examineBatch(
  host: MechanismHost,
  settings: BatchSettings,
  payment: PaymentPayload,
  requirements: PaymentRequirements,
  examiner: 'verify' | 'settle',
): Promise<ExaminedBatch | BatchRefusal> {
  const { context } = host;
  // 1–2. Scheme, network, an escrow served there, asset and extra.
  const terms = resolveBatchTerms(requirements, settings.escrows, context.checkOptions.tokens);
  if (!terms.ok) return terms;
  const connection = context.chains.get(terms.network.caip2);
  if (!connection)
    return refuse('invalid_network', `this facilitator does not serve ${terms.network.caip2}`);
  // 3. The payment accepts exactly these requirements.
  const mismatch = acceptedMismatch(payment.accepted, requirements);
  if (mismatch) return refuse('invalid_payment_requirements', mismatch);
  // 4. The payload's shape.
  const parsed = BatchPayloadSchema.safeParse(payment.payload);
  if (!parsed.success) {
    return refuse(
      'invalid_batch_settlement_stacks_payload',
      `the payload is not a batch-settlement deposit, voucher or refund: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const payload = parsed.data;
  const payer = payload.channelConfig.payer;
  // 5. The channel is the one these terms open, and the voucher names it.
  const configProblem = channelConfigProblem(payload, terms);
  if (configProblem) return configProblem;
  // A channel whose receiver-authorizer is not this facilitator's key can never be claimed by it: charging it would
  // serve unpaid, and its row would make every claim batch it joins fail (one bad row aborts the batch).
  const ours = settings.receiverAuthorizers.get(terms.network.caip2);
  if (payload.channelConfig.receiverAuthorizer !== ours) {
    return refuse(
      'invalid_batch_settlement_stacks_receiver_authorizer_mismatch',
      `the channel's receiver-authorizer is ${payload.channelConfig.receiverAuthorizer}, not this facilitator's ${ours ?? '(none)'}`,
      payer,
    );
  }
  // 6. The voucher is the payer-authorizer's, over this escrow and chain.
  const escrow = terms.extra.escrow;
  if (
    !isVoucherSignedBy(
      terms.network,
      escrow,
      payload.voucher,
      payload.channelConfig.payerAuthorizer,
    )
  ) {
    return refuse(
      'invalid_batch_settlement_stacks_voucher_signature',
      "the voucher does not recover to the channel's payer-authorizer",
      payer,
    );
  }
  // 7. The channel: the ledger's, else the escrow's (recorded, with the claimed total as the charged baseline).
  const { chain } = connection;
  let channel = await channelView(settings, chain, escrow, payload, terms, context.now());
  if ('reason' in channel) return channel;
  // A refund holds the channel (`freezeChannel`): the charge would be refused; say why before the seller serves.
  if (payload.type !== 'refund' && (channel.frozenUntil ?? 0) > context.now()) {
    return refuse(
      'invalid_batch_settlement_stacks_channel_refunding',
      'a refund of this channel is under way: it takes no payment until the refund ends',
      payer,
    );
  }
  // 8. A deposit's transaction: the escrow deposit it claims to be, fundable at the payer's next nonce.
  let deposit: ExaminedPayment | undefined;
  let depositInBalance = false;
  if (payload.type === 'deposit') {
    const examined = await examineDeposit(host, payload, terms, escrow, chain, examiner);
    if (!examined.ok) return examined;
    deposit = examined;
    if (examined.known) {
      // A deposit this facilitator sent before (a retry, or the same deposit sent again with a new voucher) may be in
      // the escrow's balance already: the channel is read afresh, and the deposit counted on top only while it is not
      // known to be mined. Counted twice, a voucher past the balance would be served.
      const fresh = await channelView(settings, chain, escrow, payload, terms, context.now(), true);
      const standing = await knownDepositStanding(chain, examined.known, payer);
      if (typeof standing !== 'string') return standing;
      if ('reason' in fresh) {
        // Unread: a mined deposit cannot be counted once, so the payment is refused (its buyer's own read finds the
        // funds). One still in flight is counted on the view step 7 took: refused, its buyer would drop a deposit that
        // may yet land, and sign another.
        if (standing === 'in_balance') return fresh;
      } else {
        channel = fresh;
        depositInBalance = standing === 'in_balance';
      }
    }
  } else if (!channel.known && channel.balance === 0n) {
    return refuse(
      'invalid_batch_settlement_stacks_channel_not_found',
      'no channel with a positive balance has this id; deposit first',
      payer,
    );
  }
  // 9. The cumulative total: the charged total plus the price (a refund's voucher is the charged total itself).
  const ceiling = BigInt(payload.voucher.maxClaimableAmount);
  const expected = payload.type === 'refund' ? channel.charged : channel.charged + terms.price;
  if (ceiling !== expected) {
    return {
      ...refuse(
        'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
        `the voucher is for ${ceiling} in all; this channel's charged total is ${channel.charged}, so it must be ${expected}`,
        payer,
      ),
      corrective: correctiveOf(payload.voucher.channelId, channel),
    };
  }
  // 10. The balance covers it, and the payer is not leaving.
  const beyond = beyondBalance(
    payload,
    channel.balance + (deposit && !depositInBalance ? deposit.check.amount : 0n),
  );
  if (beyond) return beyond;
  if (payload.type !== 'refund' && channel.withdrawRequestedAt > 0) {
    return refuse(
      'invalid_batch_settlement_stacks_channel_withdrawing',
      `the payer started a withdrawal at burn block ${channel.withdrawRequestedAt}`,
      payer,
    );
  }
  return { ok: true, terms, payload, escrow, chain, channel, ...(deposit ? { deposit } : {}) };
}

/**
 * Step 10's first half: the refusal of a voucher whose cumulative total is past what the channel holds, if it is.
 * @example
 * ```ts
 * const beyond = beyondBalance(payload, channelAfterDeposit.balance);
 * if (beyond) return beyond;
 * ```
 */
export function beyondBalance(payload: BatchPayload, balance: bigint): Refusal | undefined {
  const ceiling = BigInt(payload.voucher.maxClaimableAmount);
  if (ceiling <= balance) return undefined;
  return refuse(
    'invalid_batch_settlement_stacks_cumulative_exceeds_balance',
    `the voucher is for ${ceiling} in all; the channel holds ${balance}`,
    payload.channelConfig.payer,
  );
}

/** The snapshot of a channel, as answers and corrective 402s carry it. */
export function channelStateOf(channelId: string, channel: ChannelView): ChannelState {
  return {
    channelId,
    balance: channel.balance.toString(),
    totalClaimed: channel.claimed.toString(),
    withdrawRequestedAt: channel.withdrawRequestedAt,
    refundNonce: channel.refundNonce.toString(),
    chargedCumulativeAmount: channel.charged.toString(),
  };
}

function correctiveOf(channelId: string, channel: ChannelView): BatchRefusal['corrective'] {
  return {
    channelState: channelStateOf(channelId, channel),
    ...(channel.signature
      ? {
          voucherState: {
            signedMaxClaimable: channel.signedMax.toString(),
            signature: channel.signature,
          },
        }
      : {}),
  };
}

async function channelView(
  settings: BatchSettings,
  chain: ChainClient,
  escrow: string,
  payload: BatchPayload,
  terms: BatchTerms,
  now: number,
  fresh = false,
): Promise<ChannelView | Refusal> {
  const channelId = payload.voucher.channelId;
  const record = await settings.channels.getChannel(channelId);
  // The ledger keys channels by id, and the id hashes the config only: a record of another escrow or network (an
  // operator who moved to a new deployment on the same ledger) must not lend its balance to this one.
  if (record && (record.network !== terms.network.caip2 || record.escrow !== escrow)) {
    return refuse(
      'invalid_batch_settlement_stacks_escrow',
      `this channel id is recorded for ${record.escrow} on ${record.network}`,
      payload.channelConfig.payer,
    );
  }
  // A refund is sent with the escrow's refund nonce and balance: a stale mirror (a refund that confirmed after its
  // answer timed out, a finished withdrawal) would make the operator pay for a refund the escrow refuses. A channel a
  // refund holds is read too: the hold ends once that refund is mined. So is a channel that owes nothing: the keeper
  // reads a channel every round only while it owes (charged above claimed), so an idle channel's mirror may be older
  // than a whole withdrawal (started, waited out and finished unseen), and its balance gone. One read per claim.
  const held = record !== undefined && (record.frozenUntil ?? 0) > now;
  const watched = record !== undefined && record.charged > record.claimed;
  if (record && payload.type !== 'refund' && !held && watched && !fresh) {
    return { ...record, known: true };
  }
  let state: EscrowChannelState | undefined;
  try {
    state = await readEscrowChannel(chain, escrow, channelId);
  } catch (error) {
    return refuse(
      'invalid_batch_settlement_stacks_channel_state_read_failed',
      error instanceof Error ? error.message : String(error),
      payload.channelConfig.payer,
    );
  }
  if (!state) {
    if (record) return { ...record, known: true };
    const empty = { balance: 0n, claimed: 0n, refundNonce: 0n, withdrawRequestedAt: 0 };
    return { ...empty, charged: 0n, signedMax: 0n, signature: '', known: false };
  }
  // Held, with the escrow's refund nonce still the one its refund was sent with: that refund may yet be mined, so the
  // balance read now is not what the channel keeps. Nothing is mirrored (the refund's own balance stays).
  const refundMined = held && state.refundNonce > (record.frozenRefundNonce ?? 0n);
  if (held && !refundMined) return { ...record, known: true };
  // A channel opened elsewhere (or before this ledger): what was claimed on chain is the charged baseline; vouchers
  // charged but never claimed elsewhere are not ours to know.
  const mirrored = await settings.channels.mirrorChannel(
    { channelId, network: terms.network.caip2, escrow, config: payload.channelConfig },
    state,
    // A read keeps the record's age, as the keeper's do: it orders and ages the channel's claims, and a payer must not
    // put its own channel's claim off by asking (a deposit sent again, a refund refused).
    mirrorAge(record, state, now),
  );
  // The escrow's refund nonce is past the one the holding refund was sent with (only a refund moves it): that refund is
  // mined, and the balance just mirrored is what it left. Its answer timed out, or the read after it failed: the channel
  // is free again.
  if (refundMined) {
    await settings.channels.thawChannel(channelId, record!.frozenUntil!);
    const thawed = await settings.channels.getChannel(channelId);
    return { ...(thawed ?? mirrored), known: true };
  }
  return { ...mirrored, known: true };
}

async function examineDeposit(
  host: MechanismHost,
  payload: Extract<BatchPayload, { type: 'deposit' }>,
  terms: BatchTerms,
  escrow: string,
  chain: ChainClient,
  examiner: 'verify' | 'settle',
): Promise<
  | (ExaminedPayment & { readonly known?: { readonly state: string; readonly txid: string } })
  | Refusal
> {
  const { context, pool } = host;
  const sponsor = terms.extra.sponsor ?? terms.extra.feePayer;
  const amount = BigInt(payload.deposit.amount);
  if (amount === 0n) {
    return refuse(
      'invalid_batch_settlement_stacks_payload',
      'a deposit must be above zero',
      payload.channelConfig.payer,
    );
  }
  const offline = checkDepositTransaction(payload.deposit.transaction, {
    network: terms.network,
    escrow,
    config: payload.channelConfig,
    amount,
    asset: terms.asset,
    sponsor,
    ...(context.checkOptions.maxFee === undefined ? {} : { maxFee: context.checkOptions.maxFee }),
  });
  if (!offline.isValid) return refuse(offline.invalidReason, offline.invalidMessage, offline.payer);
  if (offline.sponsored) {
    const problem = pool.refusesToSponsor(terms.network, sponsor, terms.payTo);
    if (problem) return refuse(problem.reason, problem.message, offline.payer);
  }
  const token = terms.asset.kind === 'sip010' ? assetKey(terms.asset) : undefined;
  const key = { network: terms.network.caip2, payer: offline.payer, token };
  const state = await readPayerState(context, chain, key, examiner, offline);
  // A deposit this facilitator already holds (a retry after `settlement_pending`) has spent its nonce, or will: the
  // ledger, not the chain's next nonce, decides what happens to it (`settleDeposit`).
  const known = await host.settledAlready(offline.txid);
  if (known) {
    return {
      ok: true,
      check: offline,
      transaction: payload.deposit.transaction,
      payTo: escrow,
      network: terms.network,
      chain,
      state,
      known,
    };
  }
  const check = checkChainState(offline, {
    expectedNonce: state.nonce,
    maxNonceAhead: context.maxNonceAhead,
    balance: { stx: state.stx, ...(state.token === undefined ? {} : { token: state.token }) },
  });
  if (!check.isValid) return refuse(check.invalidReason, check.invalidMessage, check.payer);
  return {
    ok: true,
    check,
    transaction: payload.deposit.transaction,
    payTo: escrow,
    network: terms.network,
    chain,
    state,
  };
}

/**
 * Where a deposit this facilitator already sent stands, judged after the escrow read it goes with: `in_balance` once
 * mined (the read holds it), `to_count` while it is not known to be (the read cannot hold it, since it came first);
 * failed, a refusal, as its settle would answer.
 */
async function knownDepositStanding(
  chain: ChainClient,
  known: { readonly state: string; readonly txid: string },
  payer: string,
): Promise<'in_balance' | 'to_count' | Refusal> {
  const failed = () => refuse('transaction_failed', 'the deposit transaction failed', payer);
  if (known.state === 'success') return 'in_balance';
  if (known.state === 'failed') return failed();
  // Unread, it is counted as in flight, as before any read (a refusal would make its buyer sign another deposit): the
  // settle that would charge on it reads the escrow after the deposit and checks the voucher against that.
  const tx = await chain.getTransaction(known.txid).catch(() => undefined);
  // Dropped: one node's view, not yet the ledger's verdict; nothing of it is in the escrow meanwhile.
  if (
    !tx?.indexed ||
    tx.canonical === false ||
    tx.status === 'pending' ||
    tx.status.startsWith('dropped_')
  )
    return 'to_count';
  if (tx.status === 'success') return 'in_balance';
  return failed();
}
