/**
 * What this process knows of the channels it charges through one facilitator: the per-channel queue of requests and
 * the copy of each channel's last charge (`channel-mirror.ts`). A buyer's channel is keyed by receiver, asset and
 * escrow, not by route, so every route of a seller (each `paymentMiddleware` naming the same facilitator) charges the
 * same channel: with a queue and a copy per route, a charge on one route would leave another route's copy one
 * request behind, and a voucher that copy vouches for would run that route's handler unpaid. Shared, a charge
 * anywhere in the process updates the one copy, and requests on one channel wait for each other across routes.
 * @module
 */
import { type ChannelMirror, createChannelMirror } from './channel-mirror.js';

/** One facilitator's channels, as this process charged them. */
export type SellerChannels = {
  readonly mirror: ChannelMirror;
  /** Waits for the channel's earlier requests in this process; the returned function lets the next one go. */
  turn(channelId: string): Promise<() => void>;
};

const byUrl = new Map<string, SellerChannels>();
const byObject = new WeakMap<object, SellerChannels>();

/**
 * The channels of the facilitator named by its URL (`facilitatorUrl`) or by the object itself (`facilitator`).
 * @example
 * ```ts
 * const { mirror, turn } = sellerChannelsFor(options.facilitatorUrl ?? facilitator);
 * ```
 */
export function sellerChannelsFor(facilitator: string | object): SellerChannels {
  const known =
    typeof facilitator === 'string' ? byUrl.get(facilitator) : byObject.get(facilitator);
  if (known) return known;
  const created = createSellerChannels();
  if (typeof facilitator === 'string') byUrl.set(facilitator, created);
  else byObject.set(facilitator, created);
  return created;
}

function createSellerChannels(): SellerChannels {
  const queues = new Map<string, Promise<void>>();
  return {
    mirror: createChannelMirror(),
    async turn(channelId) {
      const before = queues.get(channelId) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      const tail = before.then(() => mine);
      queues.set(channelId, tail);
      await before;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        done();
        if (queues.get(channelId) === tail) queues.delete(channelId);
      };
    },
  };
}
