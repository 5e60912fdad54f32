/**
 * The sponsor a route offers, and the batch-settlement escrow it may offer: read from the facilitator's `/supported`
 * (the `extra.sponsor` of its v2 exact kind, the `extra.escrow` and `extra.receiverAuthorizer` of its batch-settlement
 * kind, for the route's network), kept for five minutes, and served stale while a refresh runs so a slow facilitator never
 * slows the 402.
 * @module
 */
import { BATCH_SETTLEMENT } from '../batch/wire.js';
import { isValidStacksAddress } from '../stacks/address.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { FacilitatorClient } from './facilitator-client.js';

const FRESH_FOR_MS = 5 * 60_000;

/**
 * What the facilitator's `/supported` says for the route's network: the sponsor to offer, and how many nonces past
 * the payer's next one it accepts in flight (passed on to buyers as `extra.maxNonceAhead`). The same object while the
 * answer is unchanged, so caches can key on it.
 */
export type FacilitatorHints = {
  readonly sponsor: string | undefined;
  readonly maxNonceAhead: number | undefined;
  /** The batch-settlement escrow and receiver-authorizer it serves on the network, when it offers the scheme. */
  readonly batch: { readonly escrow: string; readonly receiverAuthorizer: string } | undefined;
};

/** Answers the facilitator's hints, or `undefined` when the route does not ask for them. */
export type SponsorLookup = () => Promise<FacilitatorHints | undefined>;

/**
 * @throws {FacilitatorRequestError} on the first lookup, when `/supported` gives no usable answer (later failures
 * keep the last known answer).
 */
export function createSponsorLookup(
  facilitator: FacilitatorClient,
  network: StacksNetwork,
  now: () => number = Date.now,
): SponsorLookup {
  let known: { hints: FacilitatorHints; at: number } | undefined;
  let refreshing: Promise<FacilitatorHints> | undefined;

  function refresh(): Promise<FacilitatorHints> {
    refreshing ??= (async () => {
      try {
        const { kinds } = await facilitator.supported();
        const kind = kinds.find(
          (k) => k.x402Version === 2 && k.scheme === 'exact' && k.network === network.caip2,
        );
        const sponsor = kind?.extra?.sponsor;
        const ahead = kind?.extra?.maxNonceAhead;
        const batchKind = kinds.find(
          (k) =>
            k.x402Version === 2 && k.scheme === BATCH_SETTLEMENT && k.network === network.caip2,
        );
        const escrow = batchKind?.extra?.escrow;
        const receiverAuthorizer = batchKind?.extra?.receiverAuthorizer;
        const hints: FacilitatorHints = {
          sponsor: isAddressOn(sponsor, network) ? sponsor : undefined,
          maxNonceAhead:
            typeof ahead === 'number' && Number.isSafeInteger(ahead) && ahead > 0 && ahead <= 25
              ? ahead
              : undefined,
          batch:
            isContractOn(escrow, network) && isAddressOn(receiverAuthorizer, network)
              ? { escrow, receiverAuthorizer }
              : undefined,
        };
        // Unchanged hints keep their object, so what is cached on them stays.
        const previous = known?.hints;
        const same =
          previous !== undefined &&
          previous.sponsor === hints.sponsor &&
          previous.maxNonceAhead === hints.maxNonceAhead &&
          previous.batch?.escrow === hints.batch?.escrow &&
          previous.batch?.receiverAuthorizer === hints.batch?.receiverAuthorizer;
        known = { hints: same ? previous : hints, at: now() };
        return known.hints;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  return async () => {
    if (!known) return refresh();
    if (now() - known.at > FRESH_FOR_MS) refresh().catch(() => undefined);
    return known.hints;
  };
}

// An escrow the buyer could deposit into on this network: a contract principal of it.
function isContractOn(value: unknown, network: StacksNetwork): value is string {
  if (typeof value !== 'string') return false;
  const dot = value.indexOf('.');
  return (
    dot > 0 &&
    isValidStacksAddress(value.slice(0, dot), network) &&
    /^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/.test(value.slice(dot + 1))
  );
}

// A sponsor the buyer's transaction could not name (another network, not an address) is not offered.
function isAddressOn(value: unknown, network: StacksNetwork): value is string {
  return typeof value === 'string' && isValidStacksAddress(value, network);
}
