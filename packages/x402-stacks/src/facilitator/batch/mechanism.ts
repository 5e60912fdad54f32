/**
 * The batch-settlement mechanism of a facilitator engine. A voucher is verified with one signature recovery and one
 * ledger read, and charged with one compare-and-set: nothing goes on chain per request. A deposit goes through the
 * engine's settlement of a signed transaction (sponsored, replay-proof, tracked), then the channel is read back from
 * the escrow. A refund is claimed and returned by the receiver-authorizer key. Claims run in the keeper rounds
 * (`claims.ts`).
 * @module
 */
import { Cl } from '@stacks/transactions';
import { readEscrowChannel } from '../../batch/escrow-reads.js';
import { BATCH_SETTLEMENT } from '../../batch/wire.js';
import type {
  PaymentPayload,
  PaymentRequirements,
  SettleResponse,
  VerifyResponse,
} from '../../protocol/v2.js';
import { privateKeyToAccount } from '../../stacks/accounts.js';
import { fromHex } from '../../stacks/bytes.js';
import {
  resolveNetwork,
  type StacksNetwork,
  type StacksNetworkName,
} from '../../stacks/networks.js';
import { parseAtomic } from '../../stacks/units.js';
import type { MechanismHost, MechanismSettleOptions, SchemeMechanism } from '../mechanism.js';
import { failure, invalid } from '../outcomes.js';
import { type Authorizer, createAuthorizer } from './authorizer.js';
import { type ChannelLedger, type EscrowChannelState, mirrorAge } from './channel-ledger.js';
import { type ClaimPolicy, claimRound } from './claims.js';
import {
  type BatchRefusal,
  beyondBalance,
  channelStateOf,
  type ExaminedBatch,
  examineBatch,
} from './examine.js';
import { createMemoryChannelLedger } from './memory-channel-ledger.js';

/**
 * Options of {@link batchSettlementFacilitator}.
 * @example
 * ```ts
 * const options: BatchFacilitatorOptions = {
 *   escrows: { testnet: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow' },
 *   authorizerKey: process.env.BATCH_AUTHORIZER_KEY!,
 * };
 * ```
 */
export type BatchFacilitatorOptions = {
  /** The batch-escrow deployment this facilitator serves on each network (Stacks has no canonical one). */
  readonly escrows: Partial<Record<StacksNetworkName, string>>;
  /**
   * The receiver-authorizer key sellers delegate to: advertised in `/supported`, it sends claims, settles and refunds
   * and pays their fees, so it must hold STX.
   */
  readonly authorizerKey: string;
  /** Where channels are kept. Default: in memory (lost on exit; the service passes its SQL ledger). */
  readonly channels?: ChannelLedger;
  /** When claims are sent. */
  readonly claims?: Partial<ClaimPolicy>;
};

/**
 * The mechanism with what a test or a CLI may drive directly.
 * @example
 * ```ts
 * const batch: BatchSettlementMechanism = batchSettlementFacilitator({ escrows: { testnet: escrow }, authorizerKey });
 * const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:3999' } }, schemes: [batch] });
 * await batch.claimNow(); // does nothing until a facilitator has attached it
 * ```
 */
export type BatchSettlementMechanism = SchemeMechanism & {
  /** Claims every outstanding voucher now, on every network, whatever the policy says. */
  claimNow(): Promise<void>;
};

/**
 * The batch-settlement mechanism, to pass in `createFacilitator({ schemes })`.
 * @example
 * ```ts
 * const facilitator = createFacilitator({
 *   networks: { testnet: { url: 'http://127.0.0.1:3999' } },
 *   schemes: [batchSettlementFacilitator({ escrows: { testnet: escrow }, authorizerKey })],
 * });
 * ```
 */
export function batchSettlementFacilitator(
  options: BatchFacilitatorOptions,
): BatchSettlementMechanism {
  const channels = options.channels ?? createMemoryChannelLedger();
  const policy: ClaimPolicy = {
    maxVouchers: Math.min(options.claims?.maxVouchers ?? 100, 100),
    minValue: options.claims?.minValue,
    maxAgeMs: options.claims?.maxAgeMs ?? 10 * 60_000,
  };
  let attached: { claim(force: boolean): Promise<void> } | undefined;
  return {
    scheme: BATCH_SETTLEMENT,
    async claimNow() {
      await attached?.claim(true);
    },
    attach(host) {
      const mechanism = attach(host, options, channels, policy);
      attached = mechanism;
      return mechanism;
    },
  };
}

function attach(
  host: MechanismHost,
  options: BatchFacilitatorOptions,
  channels: ChannelLedger,
  policy: ClaimPolicy,
) {
  const { context } = host;
  const escrows = new Map<string, string>();
  const authorizers = new Map<string, Authorizer>();
  for (const [name, escrow] of Object.entries(options.escrows)) {
    const network = resolveNetwork(name);
    const connection = context.chains.get(network.caip2);
    if (!connection || !escrow) continue;
    escrows.set(network.caip2, escrow);
    const { address } = privateKeyToAccount(options.authorizerKey, network.name);
    authorizers.set(
      network.caip2,
      createAuthorizer(options.authorizerKey, address, network, connection.chain, context),
    );
  }
  const receiverAuthorizers = new Map(
    [...authorizers].map(([caip2, authorizer]) => [caip2, authorizer.address]),
  );
  const settings = { escrows, receiverAuthorizers, channels };

  /**
   * Runs `work` holding the authorizer's lease on a network, so one process sends its transactions at a time. With
   * `wait`, it waits for the lease up to `settleTimeoutMs` (a refund); without, it gives up at once (a keeper round).
   */
  async function withAuthorizer<T>(
    caip2: string,
    wait: boolean,
    work: (authorizer: Authorizer) => Promise<T>,
  ): Promise<T | undefined> {
    const authorizer = authorizers.get(caip2);
    if (!authorizer) return undefined;
    const lease = `batch-authorizer:${caip2}`;
    const until = context.now() + context.settleTimeoutMs;
    while (
      !(await context.ledger.acquireLease(lease, context.processId, context.leaseMs, context.now()))
    ) {
      if (!wait || context.now() >= until) return undefined;
      await context.sleep(context.pollIntervalMs);
    }
    return work(authorizer);
  }

  async function claim(force: boolean): Promise<void> {
    for (const [caip2, escrow] of escrows) {
      const connection = context.chains.get(caip2 as never)!;
      // The lease is taken only with something to claim: an idle round leaves it to whichever process needs it.
      if ((await channels.unclaimedChannels(caip2 as never, escrow, 1)).length === 0) continue;
      await withAuthorizer(caip2, false, (authorizer) =>
        claimRound(
          context,
          channels,
          authorizer,
          connection.network,
          connection.chain,
          escrow,
          policy,
          force,
        ),
      ).catch(() => undefined);
    }
  }

  return {
    claim,
    async verify(
      payment: PaymentPayload,
      requirements: PaymentRequirements,
    ): Promise<VerifyResponse> {
      const examined = await examineBatch(host, settings, payment, requirements, 'verify');
      if (!examined.ok) return refusalAnswer(examined);
      return {
        isValid: true,
        payer: examined.payload.channelConfig.payer,
        extra: {
          channelState: channelStateOf(examined.payload.voucher.channelId, examined.channel),
        },
      };
    },
    async settle(
      payment: PaymentPayload,
      requirements: PaymentRequirements,
      settleOptions: MechanismSettleOptions,
    ): Promise<SettleResponse> {
      // A seller charges less than the price by settling with a lower `amount` than the payment accepted (as
      // @x402/core's settlement overrides do): the voucher is checked against the price, the charge is the amount.
      const chargeProblem = chargeOf(payment, requirements);
      if (typeof chargeProblem === 'string') {
        return failure(
          '',
          requirements.network,
          'invalid_batch_settlement_stacks_charge_exceeds_voucher',
          chargeProblem,
        );
      }
      const priced = { ...requirements, amount: payment.accepted.amount };
      const examined = await examineBatch(host, settings, payment, priced, 'settle');
      if (!examined.ok) return settleRefusal(examined, requirements.network);
      if (examined.payload.type === 'refund') return refund(examined);
      let channelAfterDeposit = examined.channel;
      let deposit: SettleResponse | undefined;
      if (examined.deposit) {
        deposit = await settleDeposit(examined, payment.resource?.url, settleOptions.signal);
        if (!deposit.success) return deposit;
        // A read that fails after the deposit confirmed is a named refusal: the funds are in the channel, and the
        // buyer's next voucher finds them.
        const state = await readEscrowChannel(
          examined.chain,
          examined.escrow,
          examined.payload.voucher.channelId,
        ).catch(() => undefined);
        if (!state) {
          return failure(
            examined.payload.channelConfig.payer,
            examined.terms.network,
            'invalid_batch_settlement_stacks_channel_state_read_failed',
            'the deposit confirmed but the escrow channel could not be read',
            deposit.transaction,
          );
        }
        const mirrored = await channels.mirrorChannel(
          {
            channelId: examined.payload.voucher.channelId,
            network: examined.terms.network.caip2,
            escrow: examined.escrow,
            config: examined.payload.channelConfig,
          },
          state,
          // A top-up is a request like any other: it does not put the channel's claim off. The age is read now, not at
          // examination: a voucher charged while the deposit confirmed may have started the channel's debt since.
          mirrorAge(
            await channels.getChannel(examined.payload.voucher.channelId),
            state,
            context.now(),
          ),
        );
        channelAfterDeposit = { ...mirrored, known: true };
        // The voucher was judged on the balance before the deposit plus the deposit: one that confirmed between that
        // read and this one was counted twice there. The charge must fit what the escrow holds now.
        const beyond = beyondBalance(examined.payload, channelAfterDeposit.balance);
        if (beyond) {
          return {
            ...settleRefusal(beyond, examined.terms.network.caip2),
            transaction: deposit.transaction,
          };
        }
      }
      return charge(examined, channelAfterDeposit, chargeProblem, deposit);
    },
    supportedKinds(networks: readonly StacksNetwork[]) {
      return networks.flatMap((network) => {
        const escrow = escrows.get(network.caip2);
        const authorizer = authorizers.get(network.caip2);
        if (!escrow || !authorizer) return [];
        // The sponsor of deposits, as the exact kind names it: a seller that sees only this kind (a stock
        // @x402/core resource server) can still offer fee-free deposits.
        const [sponsor] = host.pool.addresses(network);
        return [
          {
            x402Version: 2 as const,
            scheme: BATCH_SETTLEMENT,
            network: network.caip2 as `${string}:${string}`,
            extra: {
              escrow,
              receiverAuthorizer: authorizer.address,
              ...(sponsor ? { sponsor, feePayer: sponsor } : {}),
            },
          },
        ];
      });
    },
    async keeperRound() {
      await claim(false);
    },
  };

  /**
   * Settles the deposit transaction once. A retry of a deposit already in the ledger (its first settle answered
   * `settlement_pending`, or timed out) is answered from the ledger: confirmed, it goes on to the charge; still in
   * flight, pending again; failed, a failure. The transaction is never sent twice.
   */
  async function settleDeposit(
    examined: ExaminedBatch,
    resource: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<SettleResponse> {
    const deposit = examined.deposit!;
    const payer = deposit.check.payer;
    const known = await host.settledAlready(deposit.check.txid);
    if (!known) return host.settleTransaction(deposit, resource, signal);
    if (known.state === 'success') {
      return {
        success: true,
        payer,
        network: examined.terms.network.caip2,
        transaction: known.txid,
      };
    }
    if (known.state === 'failed') {
      return failure(
        payer,
        examined.terms.network,
        'transaction_failed',
        'the deposit transaction failed',
        known.txid,
      );
    }
    return failure(
      payer,
      examined.terms.network,
      'settlement_pending',
      'the deposit is broadcast and not confirmed yet; send the same payment again once it is',
      known.txid,
    );
  }

  async function charge(
    examined: ExaminedBatch,
    channel: ExaminedBatch['channel'],
    amount: bigint,
    deposit: SettleResponse | undefined,
  ): Promise<SettleResponse> {
    const { payload, terms } = examined;
    const payer = payload.channelConfig.payer;
    const signedMax = BigInt(payload.voucher.maxClaimableAmount);
    const charged = await channels.chargeChannel(
      payload.voucher.channelId,
      {
        expectedCharged: channel.charged,
        charged: channel.charged + amount,
        signedMax,
        signature: payload.voucher.signature,
      },
      context.now(),
    );
    if (!charged) {
      return failure(
        payer,
        terms.network,
        'invalid_batch_settlement_stacks_channel_busy',
        'another request charged this channel first; sign the next voucher from the new total',
        deposit?.transaction ?? '',
      );
    }
    return {
      success: true,
      payer,
      network: terms.network.caip2,
      transaction: deposit?.transaction ?? '',
      ...(deposit
        ? { amount: BigInt(payload.type === 'deposit' ? payload.deposit.amount : 0).toString() }
        : {}),
      extra: {
        chargedAmount: amount.toString(),
        channelState: channelStateOf(payload.voucher.channelId, { ...charged, known: true }),
      },
    };
  }

  async function refund(examined: ExaminedBatch): Promise<SettleResponse> {
    const { payload, terms, escrow, chain, channel } = examined;
    if (payload.type !== 'refund') throw new Error('unreachable');
    const payer = payload.channelConfig.payer;
    const channelId = payload.voucher.channelId;
    const place = {
      channelId,
      network: terms.network.caip2,
      escrow,
      config: payload.channelConfig,
    };
    const escrowState = {
      balance: channel.balance,
      claimed: channel.claimed,
      refundNonce: channel.refundNonce,
      withdrawRequestedAt: channel.withdrawRequestedAt,
    };
    // Hold the channel first: the ledger's charge refuses a held channel, whatever the mirror is written meanwhile (a
    // keeper round, a deposit confirming, another refund's examination), so the refund can never return what a request
    // served meanwhile was charged. One refund holds a channel at a time: a second one now would send a refund on the
    // same refund nonce, which fails on chain at the authorizer's cost. The hold lapses when a refund's process dies,
    // once its refund could no longer be mined: a sent refund may wait in the mempool long after its answer, and is
    // found mined by the escrow's refund nonce (`channelView`), which ends the hold early.
    const until = context.now() + REFUND_WAITS * context.settleTimeoutMs + REFUND_MINED_WITHIN_MS;
    const held = await channels.freezeChannel(
      channelId,
      { until, refundNonce: channel.refundNonce },
      context.now(),
    );
    if (!held) {
      return failure(
        payer,
        terms.network,
        'invalid_batch_settlement_stacks_channel_refunding',
        'a refund of this channel is under way; send the refund again once it ended',
      );
    }
    const thaw = () => channels.thawChannel(channelId, until);
    // The balance set to what is charged as well, for a process of an earlier release sharing the ledger, which knows
    // no hold (a mirror written meanwhile undoes this one). The charged total read back here is final.
    // Every mirror of a refund keeps the channel's age: a refund refused, or sent and failed, costs its sender nothing
    // and must not put the channel's claim off. The age is the held record's: no charge lands after the hold, and one
    // that landed since the examination may have started the channel's debt.
    const age = (state: EscrowChannelState) => mirrorAge(held, state, context.now());
    const heldState = { ...escrowState, balance: smaller(channel.charged, channel.balance) };
    const frozen = await channels.mirrorChannel(place, heldState, age(heldState));
    const charged = frozen.charged;
    const available = channel.balance - charged;
    // A refund returns everything unclaimed, once: a partial one could be asked again and again, each costing the
    // receiver-authorizer a transaction, while a full one leaves nothing for the next to take.
    if (payload.amount !== undefined && BigInt(payload.amount) !== available) {
      await channels.mirrorChannel(place, escrowState, age(escrowState));
      await thaw();
      return failure(
        payer,
        terms.network,
        'invalid_batch_settlement_stacks_refund_amount_invalid',
        `a refund returns all that is unclaimed (${available > 0n ? available : 0n}); omit amount or name exactly that`,
      );
    }
    if (available <= 0n) {
      await channels.mirrorChannel(place, escrowState, age(escrowState));
      await thaw();
      return failure(
        payer,
        terms.network,
        'invalid_batch_settlement_stacks_refund_no_balance',
        'nothing unclaimed is left to refund',
      );
    }
    const amount = available;
    const signedMax = frozen.signedMax;
    const signature = frozen.signature;
    const outcome = await withAuthorizer(terms.network.caip2, true, async (authorizer) => {
      // Claim what was charged first, so the refund can only return what the payer was never charged.
      if (charged > channel.claimed && signature) {
        const row = Cl.tuple({
          'channel-id': Cl.buffer(fromHex(channelId.slice(2))),
          'max-claimable': Cl.uint(signedMax),
          'voucher-signature': Cl.buffer(fromHex(signature.slice(2))),
          claimed: Cl.uint(charged),
        });
        const claimed = await authorizer.call(escrow, 'claim', [Cl.list([row]), Cl.none()]);
        if (claimed.status !== 'success') return claimed;
      }
      const token = payload.channelConfig.token;
      const tokenArg = token === null ? Cl.none() : Cl.some(Cl.principal(token));
      const refunded = await authorizer.call(escrow, 'refund', [
        Cl.buffer(fromHex(channelId.slice(2))),
        Cl.uint(amount),
        Cl.uint(channel.refundNonce),
        Cl.none(),
        tokenArg,
      ]);
      // What the claim above took goes to the seller now: claim rounds sweep only after their own claims.
      if (refunded.status === 'success' && charged > channel.claimed) {
        await authorizer.call(escrow, 'settle', [
          Cl.principal(payload.channelConfig.receiver),
          tokenArg,
        ]);
      }
      return refunded;
    });
    if (!outcome || outcome.status === 'failed') {
      // Nothing was refunded: the channel takes charges again, on what the escrow holds.
      const fresh = await readEscrowChannel(chain, escrow, channelId).catch(() => undefined);
      await channels.mirrorChannel(place, fresh ?? escrowState, age(fresh ?? escrowState));
      await thaw();
    }
    if (!outcome) {
      return failure(
        payer,
        terms.network,
        'invalid_batch_settlement_stacks_channel_busy',
        'the receiver-authorizer is busy; retry the refund',
      );
    }
    if (outcome.status === 'pending') {
      return failure(
        payer,
        terms.network,
        'settlement_pending',
        'the refund was sent and is not confirmed yet',
        outcome.txid,
      );
    }
    if (outcome.status === 'failed') {
      return failure(payer, terms.network, 'transaction_failed', outcome.reason, outcome.txid);
    }
    // Refunded: the balance it leaves is the chain's from now on. Not read back, the hold stays: the next look at the
    // channel reads the escrow, finds the refund nonce moved, and mirrors and thaws then (a pending refund the same).
    const state = await readEscrowChannel(chain, escrow, channelId).catch(() => undefined);
    const mirrored = state
      ? await channels.mirrorChannel(
          { channelId, network: terms.network.caip2, escrow, config: payload.channelConfig },
          state,
          context.now(),
        )
      : undefined;
    if (mirrored) await thaw();
    return {
      success: true,
      payer,
      network: terms.network.caip2,
      transaction: outcome.txid,
      amount: amount.toString(),
      ...(mirrored
        ? { extra: { channelState: channelStateOf(channelId, { ...mirrored, known: true }) } }
        : {}),
    };
  }
}

/** The charge of a settle: `requirements.amount`, at most the price the payment accepted; else why not. */
function chargeOf(payment: PaymentPayload, requirements: PaymentRequirements): bigint | string {
  try {
    const charge = parseAtomic(requirements.amount);
    const price = parseAtomic(payment.accepted.amount);
    if (charge > price)
      return `the charge ${charge} is above the price ${price} the voucher was signed for`;
    return charge;
  } catch {
    return 'the charge and the price must be atomic amounts';
  }
}

function refusalAnswer(refusal: BatchRefusal): VerifyResponse {
  return {
    ...invalid(refusal),
    ...(refusal.corrective ? { extra: { ...refusal.corrective } } : {}),
  };
}

function settleRefusal(refusal: BatchRefusal, network: string): SettleResponse {
  return {
    ...failure(refusal.payer ?? '', network, refusal.reason, refusal.message),
    ...(refusal.corrective ? { extra: { ...refusal.corrective } } : {}),
  };
}

/**
 * Waits of `settleTimeoutMs` a refund may make while it holds its channel: for the authorizer's lease, then for its
 * claim, its refund and its settle to confirm.
 */
const REFUND_WAITS = 4;

/**
 * How long a sent refund is taken to possibly still be mined. No bound holds for a transaction in a mempool, so this
 * one is long: a channel whose refund's process died, or whose refund was dropped unmined, takes no charge for this
 * long (its payer may still withdraw through the escrow, and its seller's claims go on).
 */
const REFUND_MINED_WITHIN_MS = 7 * 24 * 3_600_000;

/** The smaller of two amounts (Math.min takes no bigint). */
function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
