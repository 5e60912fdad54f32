/**
 * The in-memory {@link ChannelLedger}: for tests and a single in-process facilitator. Everything is lost on exit; a
 * service keeps channels in its SQLite or PostgreSQL ledger.
 * @module
 */
import type { ChannelLedger, ChannelRecord } from './channel-ledger.js';

/**
 * Creates an empty in-memory channel ledger.
 * @example
 * ```ts
 * const channels = createMemoryChannelLedger();
 * await channels.getChannel('0x…'); // undefined
 * ```
 */
export function createMemoryChannelLedger(): ChannelLedger {
  const channels = new Map<string, ChannelRecord>();
  return {
    async getChannel(channelId) {
      return channels.get(channelId);
    },
    async mirrorChannel(channel, state, now) {
      const existing = channels.get(channel.channelId);
      const charged =
        existing && existing.charged > state.claimed ? existing.charged : state.claimed;
      const record: ChannelRecord = {
        ...channel,
        ...state,
        charged,
        signedMax: existing?.signedMax ?? 0n,
        signature: existing?.signature ?? '',
        updatedAt: now,
        ...(existing?.frozenUntil === undefined
          ? {}
          : { frozenUntil: existing.frozenUntil, frozenRefundNonce: existing.frozenRefundNonce! }),
      };
      channels.set(channel.channelId, record);
      return record;
    },
    async chargeChannel(channelId, charge, now) {
      const existing = channels.get(channelId);
      if (
        !existing ||
        existing.charged !== charge.expectedCharged ||
        charge.charged < existing.charged ||
        charge.charged > charge.signedMax ||
        charge.signedMax > existing.balance ||
        (existing.frozenUntil ?? 0) > now
      ) {
        return undefined;
      }
      const record: ChannelRecord = {
        ...existing,
        charged: charge.charged,
        signedMax: charge.signedMax,
        signature: charge.signature,
        // A channel that owes already keeps its age: the claim policy ages the oldest unclaimed charge.
        updatedAt: existing.charged > existing.claimed ? existing.updatedAt : now,
      };
      channels.set(channelId, record);
      return record;
    },
    async freezeChannel(channelId, hold, now) {
      const existing = channels.get(channelId);
      if (!existing || (existing.frozenUntil ?? 0) > now) return undefined;
      const record: ChannelRecord = {
        ...existing,
        frozenUntil: hold.until,
        frozenRefundNonce: hold.refundNonce,
      };
      channels.set(channelId, record);
      return record;
    },
    async thawChannel(channelId, until) {
      const existing = channels.get(channelId);
      if (existing?.frozenUntil !== until) return;
      const { frozenUntil: _until, frozenRefundNonce: _nonce, ...thawed } = existing;
      channels.set(channelId, thawed);
    },
    async unclaimedChannels(network, escrow, limit) {
      return [...channels.values()]
        .filter((c) => c.network === network && c.escrow === escrow && c.charged > c.claimed)
        .sort((a, b) => a.updatedAt - b.updatedAt)
        .slice(0, limit);
    },
  };
}
