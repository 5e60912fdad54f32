/**
 * The re-validation state machine, as a pure function of the current health, the check's outcome and the time.
 *
 * pending → active ⇄ degraded → failing → delisted. One good probe makes any listing active again. A soft failure
 * (429, 5xx) degrades without counting toward failing; three hard failures in a row (DNS, connection, timeout,
 * 404, an invalid challenge) mark it failing, and a day of failing delists it. A 410 Gone delists at once.
 * @module
 */
import type { ListingStatus } from '../listing.js';

/**
 * How one check went.
 * @example
 * ```ts
 * const outcome: CheckOutcome = classify(validation); // 'gone' for a 410
 * ```
 */
export type CheckOutcome = 'ok' | 'soft_failure' | 'hard_failure' | 'gone';

/**
 * The part of a listing the state machine reads and writes.
 * @example
 * ```ts
 * const health: Health = { status: 'active', consecutiveFailures: 0, failingSince: null };
 * ```
 */
export type Health = {
  readonly status: ListingStatus;
  readonly consecutiveFailures: number;
  readonly failingSince: number | null;
};

/**
 * Health after a check, and when to look again.
 * @example
 * ```ts
 * const next: NextHealth = nextHealth(health, 'hard_failure', now, createdAt, 0);
 * next.nextCheckAt - now; // 300_000: the first backoff
 * ```
 */
export type NextHealth = Health & { readonly nextCheckAt: number };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The cadence and thresholds; the README's state-machine table is this object.
 * @example
 * ```ts
 * MONITOR_POLICY.hardFailuresBeforeFailing; // 3
 * ```
 */
export const MONITOR_POLICY = {
  /** Listings registered or changed within this window are checked often. */
  freshWindowMs: 24 * HOUR,
  freshIntervalMs: 15 * MINUTE,
  /** Healthy listings: this interval plus up to the same again of jitter, so checks do not bunch up. */
  healthyIntervalMs: HOUR,
  softRetryMs: 15 * MINUTE,
  /** Hard failures back off from this, doubling, up to the maximum. */
  backoffBaseMs: 5 * MINUTE,
  backoffMaxMs: 24 * HOUR,
  hardFailuresBeforeFailing: 3,
  failingBeforeDelistedMs: 24 * HOUR,
  delistedIntervalMs: 24 * HOUR,
} as const;

/**
 * The next health of a listing.
 * @param lastChangedAt When the listing was registered or last changed (fresh listings are checked more often).
 * @param jitter A number in [0, 1) that spreads healthy checks.
 * @example
 * ```ts
 * nextHealth({ status: 'active', consecutiveFailures: 0, failingSince: null }, 'gone', now, now, 0).status; // 'delisted'
 * ```
 */
export function nextHealth(
  current: Health,
  outcome: CheckOutcome,
  now: number,
  lastChangedAt: number,
  jitter: number,
): NextHealth {
  const policy = MONITOR_POLICY;
  switch (outcome) {
    case 'ok': {
      const fresh = now - lastChangedAt < policy.freshWindowMs;
      const interval = fresh
        ? policy.freshIntervalMs
        : policy.healthyIntervalMs * (1 + Math.min(Math.max(jitter, 0), 0.999));
      return {
        status: 'active',
        consecutiveFailures: 0,
        failingSince: null,
        nextCheckAt: now + Math.round(interval),
      };
    }
    case 'gone':
      return {
        status: 'delisted',
        consecutiveFailures: current.consecutiveFailures + 1,
        failingSince: current.failingSince ?? now,
        nextCheckAt: now + policy.delistedIntervalMs,
      };
    case 'soft_failure': {
      // A busy or briefly broken server is not a broken listing: degraded, and failures are not counted.
      const status =
        current.status === 'failing' || current.status === 'delisted' ? current.status : 'degraded';
      return {
        ...current,
        status,
        nextCheckAt: now + (status === 'delisted' ? policy.delistedIntervalMs : policy.softRetryMs),
      };
    }
    case 'hard_failure': {
      const failures = current.consecutiveFailures + 1;
      if (current.status === 'delisted') {
        return {
          ...current,
          consecutiveFailures: failures,
          nextCheckAt: now + policy.delistedIntervalMs,
        };
      }
      const backoff = Math.min(policy.backoffBaseMs * 2 ** (failures - 1), policy.backoffMaxMs);
      if (failures < policy.hardFailuresBeforeFailing) {
        return {
          status: 'degraded',
          consecutiveFailures: failures,
          failingSince: null,
          nextCheckAt: now + backoff,
        };
      }
      const failingSince = current.failingSince ?? now;
      const delisted = now - failingSince >= policy.failingBeforeDelistedMs;
      return {
        status: delisted ? 'delisted' : 'failing',
        consecutiveFailures: failures,
        failingSince,
        nextCheckAt: now + (delisted ? policy.delistedIntervalMs : backoff),
      };
    }
  }
}
