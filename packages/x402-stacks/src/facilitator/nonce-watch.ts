/**
 * Settlements waiting for a payer's earlier nonces to reach the mempool (to be confirmed, for a sponsored one), watched
 * together. Each payer gets one watch:
 * one `/nonces` read per round answers every one of its waiting settlements. The rounds drift apart while the payer's
 * nonces stand still (100 ms, doubling up to the poll interval) and come 100 ms apart again once they move, and a
 * broadcast this process makes for the payer calls an extra round at once (one that finds nothing, because the API
 * shows the broadcast a moment later, leaves the regular rounds as they were). So a chain of honest payments goes out
 * close to the pace of its broadcasts (a sponsored one at the pace of blocks), while a gap left open on purpose costs one read a poll interval, however many
 * settlements wait behind it. A wait is answered `timeout` at its deadline, without a read of its own, and is never
 * judged `reached` after it. A wait whose `signal` aborts (its caller hung up) is answered `cancelled` at once.
 *
 * At most `maxWaiting` settlements wait in the process at once. When every slot is taken, a payer that, with its new
 * wait, would still hold fewer waits than the payer holding the most takes the highest-nonce wait of that payer
 * (answered `busy`). So one payer, or a few, filling the slots cannot shut out payers waiting for fewer, and the wait
 * given up is the one furthest from going out. The cap is the process's own, not the ledger's, because what a wait
 * holds is the process's: an open request and its share of the process's chain reads.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { AccountNonces } from '../chain/types.js';

/** Where a payment's nonce stands on one reading of its payer's nonces. */
export type NonceStanding = 'reached' | 'taken' | 'waiting';

/**
 * How a wait ended: the nonce `reached` or `taken`, the deadline passed, no room to wait (`busy`), or its caller gone
 * (`cancelled`).
 */
export type NonceWaitOutcome = 'reached' | 'taken' | 'timeout' | 'busy' | 'cancelled';

/** The shared waits of one facilitator process. */
export type NonceWatch = {
  /**
   * Waits until `judge`, given each round's reading of the payer's nonces, says `reached` or `taken`, its `signal`
   * aborts (`cancelled`), or `until` (ms, on the watch's clock) passes. Rejects with the chain's error when a round's
   * read fails: the caller gives its claim back and answers as for any unreachable chain.
   */
  wait(request: NonceWaitRequest): Promise<NonceWaitOutcome>;
  /**
   * Calls the next round of the payer's watch at once, if it has one: this process just broadcast a transaction of
   * that payer, which is what its chained payments wait for. Each call follows a transaction of the payer's accepted by
   * the node (a nonce and a fee spent), so nudges cost the payer as much as the reads they call.
   */
  nudge(key: string): void;
  /** How many settlements wait now. */
  readonly waiting: number;
};

/** One settlement's wait. */
export type NonceWaitRequest = {
  readonly chain: ChainClient;
  /** Names the network and payer: settlements with the same key share their reads. */
  readonly key: string;
  readonly payer: string;
  /** The payment's nonce: when room is made, a payer gives up its highest one first. */
  readonly nonce: bigint;
  readonly judge: (nonces: AccountNonces) => NonceStanding | Promise<NonceStanding>;
  readonly until: number;
  /** Ends the wait, `cancelled`, when it aborts (the caller is gone), with no read of its own. */
  readonly signal?: AbortSignal;
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
  /** Stops listening to the request's signal, once the wait ended any way. */
  readonly forget: () => void;
};

/**
 * One payer's waits, and when its loop wakes next: a wait joining with an earlier deadline wakes it sooner, and a
 * broadcast for the payer calls the next round at once.
 */
type Watch = {
  readonly waiters: Set<Waiter>;
  nextRead: number;
  wakeAt: number;
  wake: (() => void) | undefined;
  /** A broadcast for the payer came after the current round's read began: the next round comes at once. */
  nudged: boolean;
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
  const watched = new Map<string, Watch>();
  let waiting = 0;

  /** Every wait leaves through here, so the count and the sets never disagree. */
  function leave(waiters: Set<Waiter>, waiter: Waiter, outcome: NonceWaitOutcome | Error) {
    if (!waiters.delete(waiter)) return;
    waiting--;
    waiter.forget();
    if (outcome instanceof Error) waiter.failed(outcome);
    else waiter.done(outcome);
  }

  /**
   * Room for a wait of a payer holding `own` waits when every slot is taken: the payer holding the most (the latest
   * to start watching among equals) gives up its highest-nonce wait, if it would still hold at least as many as this
   * payer will.
   */
  function makeRoom(own: number): boolean {
    let largest: Set<Waiter> | undefined;
    for (const { waiters } of watched.values())
      if (waiters.size >= (largest?.size ?? 1)) largest = waiters;
    if (largest === undefined || largest.size <= own + 1) return false;
    let highest: Waiter | undefined;
    for (const waiter of largest)
      if (highest === undefined || waiter.request.nonce > highest.request.nonce) highest = waiter;
    if (highest) leave(largest, highest, 'busy');
    return true;
  }

  /** Answers `timeout` to every wait of `waiters` past its deadline. */
  function timeOut(waiters: Set<Waiter>, among: Iterable<Waiter> = [...waiters]) {
    const at = options.now();
    for (const waiter of among) if (at >= waiter.request.until) leave(waiters, waiter, 'timeout');
  }

  async function run(watch: Watch, { key, chain, payer }: NonceWaitRequest) {
    const { waiters } = watch;
    let interval = firstInterval;
    // The regular rounds' schedule: a round a nudge calls early is extra, and moves it only when it finds the nonces
    // moved (an API may show a broadcast a moment after its node took it, and that round then finds nothing).
    let scheduled = options.now() + interval;
    watch.nextRead = scheduled;
    try {
      while (waiters.size > 0) {
        // Woken at the earliest deadline too, which is answered without a read unless a round is due anyway.
        watch.wakeAt = watch.nextRead;
        for (const waiter of waiters) watch.wakeAt = Math.min(watch.wakeAt, waiter.request.until);
        await Promise.race([
          options.sleep(Math.max(0, watch.wakeAt - options.now())),
          new Promise<void>((woken) => {
            watch.wake = woken;
          }),
        ]);
        watch.wake = undefined;
        timeOut(waiters);
        if (waiters.size === 0) break;
        if (options.now() < watch.nextRead) continue;
        // Judged on this read: only the waits there before it began (a later one read the chain after this did).
        const round = [...waiters];
        const extra = options.now() < scheduled;
        let nonces: AccountNonces;
        watch.nudged = false;
        try {
          nonces = await chain.getNonces(payer);
        } catch (error) {
          for (const waiter of round) leave(waiters, waiter, asError(error));
          scheduled = options.now() + interval;
          watch.nextRead = watch.nudged ? options.now() : scheduled;
          continue;
        }
        let moved = false;
        for (const waiter of round) {
          // A read, or an earlier judge, may have taken past a deadline: such a wait is never sent.
          timeOut(waiters, [waiter]);
          if (!waiters.has(waiter)) continue;
          try {
            const standing = await waiter.request.judge(nonces);
            if (standing === 'waiting') continue;
            moved ||= standing === 'reached';
            if (standing === 'reached') timeOut(waiters, [waiter]);
            leave(waiters, waiter, standing);
          } catch (error) {
            leave(waiters, waiter, asError(error));
          }
        }
        // A payer whose nonces move is chaining payments, the next likely right behind: look soon again. Backing off
        // is for a payer that does not move, and each move costs the payer a transaction in the mempool.
        if (moved || !extra) {
          interval = moved ? firstInterval : Math.min(interval * 2, options.maxIntervalMs);
          scheduled = options.now() + interval;
        }
        watch.nextRead = watch.nudged ? options.now() : scheduled;
      }
    } catch (error) {
      for (const waiter of [...waiters]) leave(waiters, waiter, asError(error));
    } finally {
      // Synchronously after the last waiter left: a later wait finds no entry and starts its own watch.
      if (watched.get(key) === watch) watched.delete(key);
    }
  }

  return {
    get waiting() {
      return waiting;
    },
    nudge(key) {
      const watch = watched.get(key);
      if (watch === undefined) return;
      watch.nudged = true;
      watch.nextRead = options.now();
      watch.wake?.();
    },
    wait(request) {
      if (request.signal?.aborted) return Promise.resolve('cancelled');
      const own = watched.get(request.key);
      if (waiting >= options.maxWaiting && !makeRoom(own?.waiters.size ?? 0))
        return Promise.resolve('busy');
      return new Promise<NonceWaitOutcome>((done, failed) => {
        let watch = watched.get(request.key);
        const starts = watch === undefined;
        if (watch === undefined) {
          watch = {
            waiters: new Set(),
            nextRead: Number.POSITIVE_INFINITY,
            wakeAt: Number.POSITIVE_INFINITY,
            wake: undefined,
            nudged: false,
          };
          watched.set(request.key, watch);
        }
        const { signal } = request;
        const waiters = watch.waiters;
        const current = watch;
        const cancel = () => {
          leave(waiters, waiter, 'cancelled');
          // The payer's loop, with nothing left to wait for, ends now rather than at its next round.
          if (waiters.size === 0) current.wake?.();
        };
        const waiter: Waiter = {
          request,
          done,
          failed,
          forget: () => signal?.removeEventListener('abort', cancel),
        };
        signal?.addEventListener('abort', cancel, { once: true });
        watch.waiters.add(waiter);
        waiting++;
        if (starts) void run(watch, request);
        else if (request.until < watch.wakeAt) watch.wake?.();
      });
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
