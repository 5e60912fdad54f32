/**
 * A buyer channel store in this process's memory: the default, which forgets its channels when the process ends (the
 * channels stay in the escrow; a payer withdraws them with their config).
 * @module
 */
import {
  type BuyerChannelRecord,
  type ChannelKey,
  type ChannelStore,
  channelKeyString,
} from './channel-store.js';

/**
 * Creates an empty in-memory channel store.
 * @example
 * ```ts
 * const store = createMemoryChannelStore();
 * const fetchWithPayment = wrapFetchWithPayment(fetch, account, { batch: { depositCap: { STX: 100_000n }, store } });
 * ```
 */
export function createMemoryChannelStore(): ChannelStore {
  const records = new Map<string, BuyerChannelRecord>();
  return {
    async get(key: ChannelKey) {
      return records.get(channelKeyString(key));
    },
    async list() {
      return [...records.values()];
    },
    async update(key, change) {
      const id = channelKeyString(key);
      const next = change(records.get(id));
      if (next !== undefined) records.set(id, next);
      return next ?? records.get(id);
    },
  };
}
