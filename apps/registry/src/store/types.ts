/**
 * What the store hands out and takes in: listings with their registry state, versions, checks and check results.
 * @module
 */
import type { Finding } from '../findings.js';
import type { ListingStatus, NormalizedListing } from '../listing.js';
import type { CheckOutcome } from '../monitor/policy.js';

/** A listing with its registry state. */
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

/** One entry of a listing's version history. */
export type ListingVersion = {
  readonly version: number;
  readonly recordedAt: number;
  readonly amount: string;
  readonly asset: string;
  readonly payTo: string;
  readonly schemaHash: string;
};

/** One stored check. */
export type CheckRecord = {
  readonly checkedAt: number;
  readonly outcome: CheckOutcome;
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly reason: string | null;
  readonly statusAfter: ListingStatus;
};

/** What a check found, as the store records it. */
export type CheckResult = {
  readonly outcome: CheckOutcome;
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly reason: string | null;
  /** The listing as the check saw it, when the endpoint still validates. */
  readonly listing?: NormalizedListing;
  readonly findings?: readonly Finding[];
};

/** What a document write changed. */
export type Change = { readonly version: boolean; readonly payTo: boolean };

/** Uptime as checks that succeeded out of checks made. */
export type Uptime = { readonly ok: number; readonly total: number };
