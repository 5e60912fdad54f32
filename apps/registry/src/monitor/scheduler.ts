/**
 * The re-validation scheduler: claims due listings, probes them with the same validation as registration, records
 * each check and moves the listing through the state machine. Any number of instances can run against one
 * database; a claim is exclusive, and a claim whose instance died expires after its lease.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Fetcher } from '../probe/fetcher.js';
import type { RegistryStore } from '../store/store.js';
import type { StoredListing } from '../store/types.js';
import { type Validation, validateEndpoint } from '../validate/endpoint.js';
import { type CheckOutcome, nextHealth } from './policy.js';

/**
 * Options of {@link createScheduler}: the store and probe it checks with, plus batch, concurrency and lease sizes.
 * @example
 * ```ts
 * const options: SchedulerOptions = { store, fetcher, clock: systemClock, concurrency: 8, leaseMs: 60_000 };
 * ```
 */
export type SchedulerOptions = {
  readonly store: RegistryStore;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly allowInsecureLocal?: boolean;
  /** Listings claimed per round. Default 20. */
  readonly batchSize?: number;
  /** Probes in flight at once, and never more than one per origin. Default 4. */
  readonly concurrency?: number;
  /** How long a claim holds if this instance dies mid-check. Default 2 minutes. */
  readonly leaseMs?: number;
  /** Names this instance in claims. Default a random id. */
  readonly owner?: string;
  readonly logger?: Logger;
};

/**
 * A running or runnable scheduler.
 * @example
 * ```ts
 * const claimed = await scheduler.runOnce();
 * await scheduler.stop();
 * ```
 */
export type Scheduler = {
  /**
   * Checks every listing due now (one claimed batch); resolves with how many were claimed. Once stopped, claims and
   * checks nothing.
   */
  runOnce(): Promise<number>;
  /** Runs a round every `intervalMs` until stopped; does nothing once stopped. */
  start(intervalMs: number): void;
  /**
   * Stops the timer and every round in progress after the listings being checked now, and waits for those: a round's
   * other claimed listings keep their claims, which expire by themselves. For good: a stopped scheduler checks nothing.
   */
  stop(): Promise<void>;
};

/**
 * Creates a scheduler.
 * @example
 * ```ts
 * const scheduler = createScheduler({ store, fetcher: createSafeFetcher(), clock: systemClock });
 * scheduler.start(30_000);
 * ```
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const owner = options.owner ?? randomUUID();
  const batchSize = options.batchSize ?? 20;
  const concurrency = options.concurrency ?? 4;
  const leaseMs = options.leaseMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const rounds = new Set<Promise<number>>();
  let stopped = false;

  async function check(entry: StoredListing): Promise<void> {
    const { url, method } = entry.listing;
    const validation = await validateEndpoint(
      { url, method },
      { fetcher: options.fetcher, allowInsecureLocal: options.allowInsecureLocal ?? false },
    );
    const now = options.clock.now();
    const outcome = classify(validation);
    const health = nextHealth(entry, outcome, now, entry.updatedAt, jitterOf(entry.id, now));
    const change = await options.store.completeCheck(
      entry.id,
      owner,
      {
        outcome,
        httpStatus: validation.probe?.status ?? null,
        latencyMs: validation.probe?.latencyMs ?? null,
        reason: outcome === 'ok' ? null : (validation.probeFailure ?? validation.error ?? null),
        ...(validation.listing
          ? { listing: validation.listing, findings: validation.findings }
          : {}),
      },
      health,
      now,
    );
    options.logger?.info(
      { listing: entry.id, outcome, status: health.status, payToChanged: change?.payTo ?? false },
      'listing checked',
    );
    if (change?.payTo) options.logger?.warn({ listing: entry.id }, 'listing payTo changed');
  }

  async function runOnce(): Promise<number> {
    const claimed = await options.store.claimDue(options.clock.now(), {
      limit: batchSize,
      owner,
      leaseMs,
    });
    // One probe at a time per origin, so a seller with many routes never sees a burst from the registry.
    const queue = [...groupByOrigin(claimed).values()];
    const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let chain = queue.shift(); chain; chain = queue.shift()) {
        for (const entry of chain) {
          // Stopping: the listings not checked yet keep their claims, which expire by themselves.
          if (stopped) return;
          try {
            await check(entry);
          } catch (error) {
            // The claim expires by itself; the listing is retried after the lease.
            options.logger?.error({ listing: entry.id, err: error }, 'check failed unexpectedly');
          }
        }
      }
    });
    await Promise.all(workers);
    return claimed.length;
  }

  function round(): Promise<number> {
    if (stopped) return Promise.resolve(0);
    const running = runOnce().finally(() => rounds.delete(running));
    rounds.add(running);
    return running;
  }

  return {
    runOnce: round,
    start(intervalMs) {
      if (stopped) return;
      timer ??= setInterval(() => {
        if (rounds.size > 0) return;
        // A round the database refused (a lost connection, say) is retried at the next tick.
        round().catch((error: unknown) =>
          options.logger?.error({ err: error }, 'check round failed'),
        );
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await Promise.all([...rounds].map((round) => round.catch(() => undefined)));
    },
  };
}

/**
 * How a re-check went: a valid challenge is ok; 410 is gone; 429 and 5xx are soft (the server is busy or briefly
 * broken); everything else, including timeouts and an invalid challenge, is hard.
 * @example
 * ```ts
 * classify(await validateEndpoint({ url }, { fetcher })); // 'ok' | 'soft_failure' | 'hard_failure' | 'gone'
 * ```
 */
export function classify(validation: Validation): CheckOutcome {
  if (validation.valid) return 'ok';
  const status = validation.probe?.status;
  if (status === 410) return 'gone';
  if (status === 429 || (status !== undefined && status >= 500)) return 'soft_failure';
  return 'hard_failure';
}

function groupByOrigin(entries: readonly StoredListing[]): Map<string, StoredListing[]> {
  const groups = new Map<string, StoredListing[]>();
  for (const entry of entries) {
    const origin = new URL(entry.listing.url).origin;
    groups.set(origin, [...(groups.get(origin) ?? []), entry]);
  }
  return groups;
}

/** A stable number in [0, 1) per listing and hour, so healthy checks spread out without randomness in tests. */
function jitterOf(id: string, now: number): number {
  const digest = createHash('sha256')
    .update(`${id}:${Math.floor(now / 3_600_000)}`)
    .digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}
