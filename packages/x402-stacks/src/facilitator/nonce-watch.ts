/**
 * Settlements waiting for a payer's earlier nonces to reach the mempool, watched together. Each payer gets one watch:
 * one `/nonces` read per round answers every one of its waiting settlements. The rounds drift apart while the payer's
 * nonces stand still (100 ms, doubling up to the poll interval) and come soon again once they move, so a chain of
 * honest payments goes out at the pace of the mempool while a gap left open on purpose costs one read a poll interval,
 * however many settlements wait behind it. No round comes later than the earliest deadline of the payer's waits.
 *
 * At most `maxWaiting` settlements wait in the process at once. When every slot is taken, the payer holding the most
 * waits gives up its newest one to a payer holding fewer (answered `busy`), so one payer, or a few, filling the slots
 * shuts out nobody else: one more wait is refused only once as many payers as there are slots are waiting, or when its
 * own payer holds the most. The cap is the process's own, not the ledger's, because what a wait holds is the
 * process's: an open request and its share of the process's chain reads.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { AccountNonces } from '../chain/types.js';

/** Where a payment's nonce stands on one reading of its payer's nonces. */
export type NonceStanding = 'reached' | 'taken' | 'waiting';

/** How a wait ended: the nonce `reached` or `taken`, the deadline passed, or no room to wait (`busy`). */
export type NonceWaitOutcome = 'reached' | 'taken' | 'timeout' | 'busy';

/** The shared waits of one facilitator process. */
export type NonceWatch = {
  /**
   * Waits until `judge`, given each round's reading of the payer's nonces, says `reached` or `taken`, or `until` (ms,
   * on the watch's clock) passes. Rejects with the chain's error when a round's read fails: the caller gives its claim
   * back and answers as for any unreachable chain.
   */
  wait(request: NonceWaitRequest): Promise<NonceWaitOutcome>;
  /** How many settlements wait now. */
  readonly waiting: number;
};

/** One settlement's wait. */
export type NonceWaitRequest = {
  readonly chain: ChainClient;
  /** Names the network and payer: settlements with the same key share their reads. */
  readonly key: string;
  readonly payer: string;
  readonly judge: (nonces: AccountNonces) => NonceStanding | Promise<NonceStanding>;
  readonly until: number;
};

/** The watch's settings. */
export type NonceWatchOptions = {
  readonly maxWaiting: number;
  /** The longest gap between two rounds of one payer; the first round comes after 100 ms, or this when shorter. */
  readonly maxIntervalMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
};

/** Chained payments of one buyer arrive within milliseconds of each other: the first look comes soon. */
const FIRST_INTERVAL_MS = 100;

type Waiter = {
  readonly request: NonceWaitRequest;
  readonly done: (outcome: NonceWaitOutcome) => void;
  readonly failed: (error: unknown) => void;
};

/**
 * Creates the process's watch.
 * @example
 * ```ts
 * const watch = createNonceWatch({ maxWaiting: 64, maxIntervalMs: 1_000, now: Date.now, sleep });
 * const outcome = await watch.wait({ chain, key: `${network} ${payer}`, payer, until, judge: (n) =>
 *   n.possibleNext >= nonce ? 'reached' : 'waiting' });
 * ```
 */
export function createNonceWatch(options: NonceWatchOptions): NonceWatch {
  const firstInterval = Math.min(FIRST_INTERVAL_MS, options.maxIntervalMs);
  const watched = new Map<string, Set<Waiter>>();
  let waiting = 0;

  /** Every wait leaves through here, so the count and the sets never disagree. */
  function leave(waiters: Set<Waiter>, waiter: Waiter, outcome: NonceWaitOutcome | Error) {
    if (!waiters.delete(waiter)) return;
    waiting--;
    if (outcome instanceof Error) waiter.failed(outcome);
    else waiter.done(outcome);
  }

  /**
   * Room for a wait of the payer holding `own` waits when every slot is taken: the payer holding the most gives up its
   * newest wait (answered `busy`), as long as it still holds more than this payer will. So a payer filling the slots
   * shuts out nobody who holds fewer, and only as many payers as there are slots can be waiting at once.
   */
  function makeRoom(own: number): boolean {
    let largest: Set<Waiter> | undefined;
    for (const waiters of watched.values())
      if (waiters.size > (largest?.size ?? 0)) largest = waiters;
    if (largest === undefined || largest.size <= own + 1) return false;
    const newest = [...largest].at(-1);
    if (newest) leave(largest, newest, 'busy');
    return true;
  }

  async function watch(waiters: Set<Waiter>, { key, chain, payer }: NonceWaitRequest) {
    let interval = firstInterval;
    try {
      while (waiters.size > 0) {
        // Never past the earliest deadline: a wait must not outlive settleTimeoutMs by a poll interval.
        let earliest = Number.POSITIVE_INFINITY;
        for (const waiter of waiters) earliest = Math.min(earliest, waiter.request.until);
        await options.sleep(Math.max(0, Math.min(interval, earliest - options.now())));
        const at = options.now();
        for (const waiter of [...waiters])
          if (at >= waiter.request.until) leave(waiters, waiter, 'timeout');
        if (waiters.size === 0) break;
        // Judged on this read: only the waits there before it began (a later one read the chain after this did).
        const round = [...waiters];
        let nonces: AccountNonces;
        try {
          nonces = await chain.getNonces(payer);
        } catch (error) {
          for (const waiter of [...waiters]) leave(waiters, waiter, asError(error));
          break;
        }
        let moved = false;
        for (const waiter of round) {
          if (!waiters.has(waiter)) continue;
          try {
            const standing = await waiter.request.judge(nonces);
            if (standing === 'waiting') continue;
            moved ||= standing === 'reached';
            leave(waiters, waiter, standing);
          } catch (error) {
            leave(waiters, waiter, asError(error));
          }
        }
        // A payer whose nonces move is chaining payments, the next likely right behind: look soon again. Backing off
        // is for a payer that does not move, and each move costs the payer a transaction in the mempool.
        interval = moved ? firstInterval : Math.min(interval * 2, options.maxIntervalMs);
      }
    } catch (error) {
      for (const waiter of [...waiters]) leave(waiters, waiter, asError(error));
    } finally {
      // Synchronously after the last waiter left: a later wait finds no entry and starts its own watch.
      if (watched.get(key) === waiters) watched.delete(key);
    }
  }

  return {
    get waiting() {
      return waiting;
    },
    wait(request) {
      const own = watched.get(request.key);
      if (waiting >= options.maxWaiting && !makeRoom(own?.size ?? 0))
        return Promise.resolve('busy');
      return new Promise<NonceWaitOutcome>((done, failed) => {
        let waiters = watched.get(request.key);
        const starts = waiters === undefined;
        if (waiters === undefined) {
          waiters = new Set();
          watched.set(request.key, waiters);
        }
        waiters.add({ request, done, failed });
        waiting++;
        if (starts) void watch(waiters, request);
      });
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
