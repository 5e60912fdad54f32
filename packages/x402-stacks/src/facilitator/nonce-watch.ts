/**
 * Settlements waiting for a payer's earlier nonces to reach the mempool, watched together. Each payer gets one watch:
 * one `/nonces` read per round answers every one of its waiting settlements, and the rounds drift apart (100 ms, then
 * doubling up to the poll interval) so that a wait the payer drags out on purpose costs a read a second, not ten per
 * settlement. At most `maxWaiting` settlements wait in the process at once; one more is told `busy` without a read.
 *
 * Why the cap is the process's own and not the ledger's: what a waiting settlement holds is this process's (an open
 * request and its share of this process's chain reads). Per payer the ledger already bounds it, since each waiting
 * settlement holds the claim on its own nonce, within `maxNonceAhead` of the payer's next.
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
  const watched = new Map<string, Set<Waiter>>();
  let waiting = 0;

  async function watch(waiters: Set<Waiter>, { key, chain, payer }: NonceWaitRequest) {
    let interval = Math.min(FIRST_INTERVAL_MS, options.maxIntervalMs);
    try {
      while (waiters.size > 0) {
        await options.sleep(interval);
        interval = Math.min(interval * 2, options.maxIntervalMs);
        let nonces: AccountNonces;
        try {
          nonces = await chain.getNonces(payer);
        } catch (error) {
          for (const waiter of waiters) waiter.failed(error);
          waiters.clear();
          return;
        }
        const at = options.now();
        // A settlement that joins while this round is being judged is judged from the next round on.
        for (const waiter of [...waiters]) {
          try {
            const standing = await waiter.request.judge(nonces);
            if (standing !== 'waiting') waiter.done(standing);
            else if (at >= waiter.request.until) waiter.done('timeout');
            else continue;
          } catch (error) {
            waiter.failed(error);
          }
          waiters.delete(waiter);
        }
      }
    } finally {
      // Synchronously after the last waiter left: a later wait finds no entry and starts its own watch.
      watched.delete(key);
    }
  }

  return {
    get waiting() {
      return waiting;
    },
    async wait(request) {
      if (waiting >= options.maxWaiting) return 'busy';
      waiting++;
      try {
        return await new Promise<NonceWaitOutcome>((done, failed) => {
          let waiters = watched.get(request.key);
          const starts = waiters === undefined;
          if (waiters === undefined) {
            waiters = new Set();
            watched.set(request.key, waiters);
          }
          waiters.add({ request, done, failed });
          if (starts) void watch(waiters, request);
        });
      } finally {
        waiting--;
      }
    },
  };
}
