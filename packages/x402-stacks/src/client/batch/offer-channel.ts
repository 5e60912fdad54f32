/**
 * Which of a buyer's channels can pay an offer: the config the offer implies (receiver, receiver-authorizer, token,
 * withdraw delay on the offer's escrow and network) with the buyer as payer and payer-authorizer. Shared by the batch
 * buyer, which pays from the best of them, and by tools that deposit into or refund the same channel (the CLI).
 * @module
 */
import { channelIdOf } from '../../batch/channel.js';
import type { ChannelConfig } from '../../batch/wire.js';
import type { BuyerChannelRecord } from './channel-store.js';
import type { BatchOffer } from './offer.js';

/**
 * The buyer's channels that fit the offer, best first: one with a deposit in flight (it must be resolved before
 * anything else is signed), then the one with the most room, then the most recently used.
 * @example
 * ```ts
 * const [best] = channelsForOffer(await store.list(), account.address, offer);
 * ```
 */
export function channelsForOffer(
  records: readonly BuyerChannelRecord[],
  payer: string,
  offer: BatchOffer,
): BuyerChannelRecord[] {
  const { escrow, receiverAuthorizer, withdrawDelay } = offer.extra;
  const fitting = records.filter(
    (record) =>
      record.network === offer.terms.network.caip2 &&
      record.escrow === escrow &&
      record.config.payer === payer &&
      record.config.payerAuthorizer === payer &&
      record.config.receiver === offer.terms.payTo.principal &&
      record.config.receiverAuthorizer === receiverAuthorizer &&
      record.config.token === offer.token &&
      record.config.withdrawDelay === withdrawDelay,
  );
  const room = (record: BuyerChannelRecord) => record.deposited - record.charged;
  return fitting.sort(
    (a, b) =>
      Number(b.pendingDeposit !== undefined) - Number(a.pendingDeposit !== undefined) ||
      (room(b) > room(a) ? 1 : room(b) < room(a) ? -1 : 0) ||
      b.updatedAt - a.updatedAt,
  );
}

/**
 * A fresh channel for the offer, not yet stored nor deposited into: nothing deposited, nothing charged.
 * @example
 * ```ts
 * const record = newChannelForOffer(account.address, offer, `0x${'00'.repeat(32)}`, Date.now());
 * ```
 */
export function newChannelForOffer(
  payer: string,
  offer: BatchOffer,
  salt: string,
  now: number,
): BuyerChannelRecord {
  const config: ChannelConfig = {
    payer,
    payerAuthorizer: payer,
    receiver: offer.terms.payTo.principal,
    receiverAuthorizer: offer.extra.receiverAuthorizer,
    token: offer.token,
    withdrawDelay: offer.extra.withdrawDelay,
    salt,
  };
  return {
    network: offer.terms.network.caip2,
    escrow: offer.extra.escrow,
    channelId: channelIdOf(config),
    config,
    deposited: 0n,
    charged: 0n,
    signedMax: 0n,
    updatedAt: now,
  };
}
