/**
 * The sponsor a route offers: read from the facilitator's `/supported` (the `extra.sponsor` of its v2 exact kind for
 * the route's network), kept for five minutes, and served stale while a refresh runs so a slow facilitator never
 * slows the 402.
 * @module
 */
import { isValidStacksAddress } from '../stacks/address.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { FacilitatorClient } from './facilitator-client.js';

const FRESH_FOR_MS = 5 * 60_000;

/** Answers the sponsor address to offer, or `undefined` when the facilitator sponsors nothing on this network. */
export type SponsorLookup = () => Promise<string | undefined>;

/**
 * @throws {FacilitatorRequestError} on the first lookup, when `/supported` gives no usable answer (later failures
 * keep the last known answer).
 */
export function createSponsorLookup(
  facilitator: FacilitatorClient,
  network: StacksNetwork,
  now: () => number = Date.now,
): SponsorLookup {
  let known: { sponsor: string | undefined; at: number } | undefined;
  let refreshing: Promise<string | undefined> | undefined;

  function refresh(): Promise<string | undefined> {
    refreshing ??= (async () => {
      try {
        const { kinds } = await facilitator.supported();
        const kind = kinds.find(
          (k) => k.x402Version === 2 && k.scheme === 'exact' && k.network === network.caip2,
        );
        const sponsor = kind?.extra?.sponsor;
        known = { sponsor: isAddressOn(sponsor, network) ? sponsor : undefined, at: now() };
        return known.sponsor;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  return async () => {
    if (!known) return refresh();
    if (now() - known.at > FRESH_FOR_MS) refresh().catch(() => undefined);
    return known.sponsor;
  };
}

// A sponsor the buyer's transaction could not name (another network, not an address) is not offered.
function isAddressOn(value: unknown, network: StacksNetwork): value is string {
  return typeof value === 'string' && isValidStacksAddress(value, network);
}
