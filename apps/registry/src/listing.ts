/**
 * A listing as the registry stores it: whatever the seller sent (v1 document, v2 challenge, a mix), normalized to
 * CAIP-2 networks, atomic amount strings, canonical asset ids and an `http` input type.
 * @module
 */
import type { StacksNetworkId } from 'x402-stacks';

/**
 * One way to pay for the listed resource.
 * @example
 * ```ts
 * const prices = listing.accepts.map((a: ListedAccept) => `${a.amount} ${a.symbol ?? a.asset} to ${a.payTo}`);
 * ```
 */
export type ListedAccept = {
  readonly scheme: string;
  readonly network: StacksNetworkId;
  /** Atomic units as a decimal string (µSTX, sats, …). */
  readonly amount: string;
  /** `STX` or the SIP-010 contract id. */
  readonly asset: string;
  /** `STX`, `sBTC`, `USDCx`, or null for another token. */
  readonly symbol: string | null;
  /** Null when the token is not one the library knows. */
  readonly decimals: number | null;
  readonly payTo: string;
  readonly maxTimeoutSeconds: number | null;
};

/**
 * Registry status of a listing; see the state machine in the README.
 * @example
 * ```ts
 * LISTING_STATUSES.includes('delisted'); // true
 * ```
 */
export const LISTING_STATUSES = ['pending', 'active', 'degraded', 'failing', 'delisted'] as const;

/**
 * One of {@link LISTING_STATUSES}.
 * @example
 * ```ts
 * const status: ListingStatus = stored.status; // 'pending' until its first check passes
 * ```
 */
export type ListingStatus = (typeof LISTING_STATUSES)[number];

/**
 * What validation produces and registration stores.
 * @example
 * ```ts
 * const listing: NormalizedListing | undefined = (await registry.validate({ url })).listing;
 * listing?.accepts[0]?.amount; // atomic units, e.g. '1000'
 * ```
 */
export type NormalizedListing = {
  readonly url: string;
  readonly method: string;
  readonly name: string;
  readonly description: string;
  readonly image: string | null;
  readonly mimeType: string | null;
  readonly x402Version: 1 | 2;
  /** False when the endpoint answered 200 with a schema document instead of a live 402. */
  readonly paywallVerified: boolean;
  readonly accepts: readonly ListedAccept[];
  /** How to call the resource: `{type: 'http', method, queryParams?, bodyFields?, …}` or an MCP tool. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly output: unknown;
  /**
   * The JSON Schema of the call (`input`, `output`) from the 402's bazaar declaration, checked and bounded like a
   * facilitator's catalog checks it; absent when the seller declared none (or a v1 `outputSchema` only).
   */
  readonly schema?: Readonly<Record<string, unknown>>;
};
