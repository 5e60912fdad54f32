/**
 * A request paid with batch-settlement, from the seller's side. The facilitator keeps each channel's charged total, and
 * this side only a copy of its last answer (`channel-mirror.ts`): it serializes the requests of one channel in this
 * process (the facilitator's compare-and-set does it across processes), verifies (on its own when the copy is fresh,
 * else through the facilitator), lets the handler run with the response held back, and charges after the handler
 * succeeded: the price, or less when the handler called `getPayment(req).charge(amount)`. A voucher
 * whose total disagrees with the facilitator's gets a corrective 402 carrying the channel snapshot. A refund payload is
 * a payment operation, not a paid request: it is settled and answered without running the handler.
 * @module
 */
import { BatchPayloadSchema, type ChannelState, type VoucherState } from '../../batch/wire.js';
import { PAYMENT_HEADERS } from '../../protocol/headers.js';
import type { PaymentRequirements, SettleResponse } from '../../protocol/v2.js';
import type { StacksNetworkId } from '../../stacks/networks.js';
import { parseAtomic } from '../../stacks/units.js';
import { FacilitatorRequestError } from '../errors.js';
import type { FacilitatorClient } from '../facilitator-client.js';
import type { MatchedPayment } from '../match.js';
import type { Payment } from '../payment.js';
import { EXPOSED_HEADERS, encodeJson, errorReply, type PaywallReply } from '../replies.js';
import { correctiveOffers } from './offers.js';
import { sellerChannelsFor } from './seller-channels.js';

/** What the core needs to answer: a 402 for some offers, with a failure and the facilitator's answer. */
export type BatchChallenge = (
  accepts: readonly PaymentRequirements[],
  failure: { error: string; message?: string },
  receipt?: SettleResponse,
) => PaywallReply;

/** The admission kinds the core answers with (its own types, structurally). */
type Reply = { readonly action: 'reply'; readonly reply: PaywallReply };
type Serve = {
  readonly action: 'serve';
  readonly payment: Payment;
  readonly headers: Readonly<Record<string, string>>;
};
type Deferred = {
  readonly action: 'serve-then-settle';
  readonly payment: Payment;
  settle(): Promise<Reply | Serve>;
  release(): void;
};

/** One route's batch-settlement requests. */
export type BatchAdmitter = {
  admit(
    matched: MatchedPayment,
    accepts: readonly PaymentRequirements[],
    challenge: BatchChallenge,
    validator: ((payment: Payment) => boolean | Promise<boolean>) | undefined,
  ): Promise<Reply | Deferred>;
};

/**
 * Creates the batch-settlement side of one route.
 * @example
 * ```ts
 * const batch = createBatchAdmitter(facilitator, options.facilitatorUrl ?? facilitator);
 * return batch.admit(matched, accepts, challengeFor, resolved.paymentValidator);
 * ```
 */
export function createBatchAdmitter(
  facilitator: FacilitatorClient,
  facilitatorKey: string | object = facilitator,
): BatchAdmitter {
  // Shared with every route on this facilitator: a charge on another route moves the same channel.
  const { mirror, turn } = sellerChannelsFor(facilitatorKey);

  return {
    async admit(matched, accepts, challenge, validator) {
      const parsed = BatchPayloadSchema.safeParse(matched.payload.payload);
      if (!parsed.success) {
        return reply(
          challenge(accepts, {
            error: 'invalid_batch_settlement_stacks_payload',
            message: 'the payload is not a batch-settlement deposit, voucher or refund',
          }),
        );
      }
      const payload = parsed.data;
      const { requirements } = matched;
      const refuse = (answer: {
        reason: string;
        message?: string | null;
        extra?: Record<string, unknown> | null;
        receipt?: SettleResponse;
      }) => {
        const corrective = correctiveOf(answer.extra);
        const offers = corrective ? correctiveOffers(accepts, requirements, corrective) : accepts;
        return reply(
          challenge(
            offers,
            { error: answer.reason, ...(answer.message ? { message: answer.message } : {}) },
            answer.receipt,
          ),
        );
      };

      if (payload.type === 'refund') {
        // A refund freezes the channel and then shrinks its balance: the copy of the last charge no longer holds, and
        // a voucher admitted on it meanwhile would run the handler unpaid. It waits its turn and drops the copy.
        const { channelId } = payload.voucher;
        const release = await turn(channelId);
        let answer: SettleResponse;
        try {
          answer = await facilitator.settle(matched.payload, requirements);
        } finally {
          mirror.forget(channelId);
          release();
        }
        if (!answer.success) {
          return refuse({
            reason: answer.errorReason ?? 'unexpected_settle_error',
            message: answer.errorMessage,
            extra: answer.extra,
            receipt: answer,
          });
        }
        return reply({
          status: 200,
          headers: {
            'content-type': 'application/json',
            'cache-control': 'private',
            'access-control-expose-headers': EXPOSED_HEADERS,
            [PAYMENT_HEADERS.paymentResponse]: encodeJson(answer),
          },
          body: JSON.stringify(answer),
        });
      }

      const { channelId } = payload.voucher;
      const release = await turn(channelId);
      try {
        // A voucher on a channel this route charged a moment ago is checked here; anything else asks the facilitator.
        let payer = payload.channelConfig.payer;
        if (!mirror.admits(matched.payload, payload, requirements)) {
          const verdict = await facilitator.verify(matched.payload, requirements);
          if (!verdict.isValid) {
            mirror.forget(channelId);
            release();
            return refuse({
              reason: verdict.invalidReason ?? 'unexpected_verify_error',
              message: verdict.invalidMessage,
              extra: verdict.extra,
            });
          }
          payer = verdict.payer ?? payer;
        }
        const price = BigInt(requirements.amount);
        let charge = price;
        const payment: Payment = {
          ...paymentOf(requirements, matched.version, '', payer, false),
          charge: (amount) => {
            const value = parseAtomic(amount);
            if (value > price)
              throw new RangeError(`a charge of ${value} is above the price ${price}`);
            charge = value;
          },
        };
        if (validator && !(await validator(payment))) {
          release();
          return reply(challenge(accepts, { error: 'payment_refused' }));
        }
        return {
          action: 'serve-then-settle',
          payment,
          settle: async () => {
            try {
              const answer = await facilitator.settle(matched.payload, {
                ...requirements,
                amount: charge.toString(),
              });
              if (!answer.success) {
                mirror.forget(channelId);
                return refuse({
                  reason: answer.errorReason ?? 'unexpected_settle_error',
                  message: answer.errorMessage,
                  extra: answer.extra,
                  receipt: answer,
                });
              }
              mirror.charged(channelId, requirements, answer.extra);
              return served(requirements, matched.version, answer);
            } catch (error) {
              mirror.forget(channelId);
              if (error instanceof FacilitatorRequestError) {
                return reply(errorReply(502, error.reason, error.shortMessage));
              }
              throw error;
            } finally {
              release();
            }
          },
          release,
        };
      } catch (error) {
        release();
        throw error;
      }
    },
  };
}

function served(requirements: PaymentRequirements, version: 1 | 2, answer: SettleResponse): Serve {
  const payer = answer.payer ?? '';
  return {
    action: 'serve',
    payment: paymentOf(requirements, version, answer.transaction, payer, true),
    headers: {
      'cache-control': 'private',
      'access-control-expose-headers': EXPOSED_HEADERS,
      // Charged off chain: no transaction for a voucher, the deposit's for a deposit; the charge and the channel in
      // `extra`, for the buyer to check against its own total.
      [PAYMENT_HEADERS.paymentResponse]: encodeJson({
        success: true,
        transaction: answer.transaction,
        network: answer.network,
        ...(payer ? { payer } : {}),
        ...(answer.amount ? { amount: answer.amount } : {}),
        ...(answer.extra ? { extra: answer.extra } : {}),
      }),
    },
  };
}

function paymentOf(
  requirements: PaymentRequirements,
  version: 1 | 2,
  transaction: string,
  payer: string,
  settled: boolean,
): Payment {
  return {
    transaction,
    txId: transaction,
    payer,
    network: requirements.network as StacksNetworkId,
    amount: requirements.amount,
    asset: requirements.asset,
    settled,
    requirements,
    x402Version: version,
  };
}

function correctiveOf(
  extra: Record<string, unknown> | null | undefined,
): { channelState: ChannelState; voucherState?: VoucherState } | undefined {
  const channelState = extra?.channelState;
  if (typeof channelState !== 'object' || channelState === null) return undefined;
  const voucherState = extra?.voucherState;
  return {
    channelState: channelState as ChannelState,
    ...(typeof voucherState === 'object' && voucherState !== null
      ? { voucherState: voucherState as VoucherState }
      : {}),
  };
}

function reply(paywallReply: PaywallReply): Reply {
  return { action: 'reply', reply: paywallReply };
}
