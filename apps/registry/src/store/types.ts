/**
 * What the store hands out and takes in: listings with their registry state, versions, checks and check results.
 * @module
 */
import type { Finding } from '../findings.js';
import type { ListingStatus, NormalizedListing } from '../listing.js';
import type { CheckOutcome } from '../monitor/policy.js';

/**
 * A listing with its registry state.
 * @example
 * ```ts
 * const stored: StoredListing | undefined = await store.get(id);
 * if (stored) console.log(stored.listing.url, stored.status, stored.nextCheckAt);
 * ```
 */
export type StoredListing = {
  readonly id: string;
  readonly status: ListingStatus;
  readonly listing: NormalizedListing;
  readonly findings: readonly Finding[];
  readonly version: number;
  readonly schemaHash: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly checkedAt: number | null;
  readonly nextCheckAt: number;
  readonly consecutiveFailures: number;
  readonly failingSince: number | null;
  /** When a check or re-registration saw the payTo change; cleared by nothing (there is no owner proof yet). */
  readonly payToChangedAt: number | null;
};

/**
 * One entry of a listing's version history.
 * @example
 * ```ts
 * const history: ListingVersion[] = await store.versions(id); // newest first
 * ```
 */
export type ListingVersion = {
  readonly version: number;
  readonly recordedAt: number;
  readonly amount: string;
  readonly asset: string;
  readonly payTo: string;
  readonly schemaHash: string;
};

/**
 * One stored check.
 * @example
 * ```ts
 * const recent: CheckRecord[] = await store.checks(id, 10); // newest first
 * ```
 */
export type CheckRecord = {
  readonly checkedAt: number;
  readonly outcome: CheckOutcome;
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly reason: string | null;
  readonly statusAfter: ListingStatus;
};

/**
 * What a check found, as the store records it.
 * @example
 * ```ts
 * const result: CheckResult = { outcome: 'hard_failure', httpStatus: null, latencyMs: null, reason: 'timeout' };
 * await store.completeCheck(id, owner, result, nextHealth(stored, result.outcome, now, stored.updatedAt, 0), now);
 * ```
 */
export type CheckResult = {
  readonly outcome: CheckOutcome;
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly reason: string | null;
  /** The listing as the check saw it, when the endpoint still validates. */
  readonly listing?: NormalizedListing;
  readonly findings?: readonly Finding[];
};

/**
 * What a document write changed: a new version (terms or schema), and whether the payTo moved.
 * @example
 * ```ts
 * if (registration.change?.payTo) console.warn('the listing now pays a different address');
 * ```
 */
export type Change = { readonly version: boolean; readonly payTo: boolean };

/**
 * Uptime as checks that succeeded out of checks made.
 * @example
 * ```ts
 * const { day, week } = await store.uptime(id, Date.now()); // each an Uptime
 * const dayPercent = day.total === 0 ? null : (100 * day.ok) / day.total;
 * ```
 */
export type Uptime = { readonly ok: number; readonly total: number };
