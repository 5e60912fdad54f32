/**
 * The status reads of every settlement being followed, on one timer: each interval, the transactions waiting on a
 * chain are read together (`tx/multiple`, 50 a request, where the API has it), however many settlements wait. A
 * settlement's own loop only says which transaction it wants to hear about next; it never holds a timer or a request
 * of its own.
 *
 * After an idle spell, the next tick falls on the grid the last read began (one interval apart), not an interval
 * after the first new waiter: settlements that arrive in bursts, each burst answered by one read and sent back a few
 * milliseconds later, used to wait a whole interval for every look. While reads follow one another, each begins one
 * interval after the previous one began, or at once when that read took longer. Rounds therefore begin about one
 * interval apart at least (a timer's millisecond), and each reads every transaction waiting then together.
 *
 * Where the chain client pushes new blocks (`watchBlocks`), a waiting transaction that a pushed block holds is read
 * at once, with the others due then, and the tick stays where it was (`block-hints.ts`). A push only says when to
 * read; the read decides, so a feed that is down or wrong costs time, never a wrong answer.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { ChainTransaction } from '../chain/types.js';
import { createBlockHints } from './block-hints.js';

/** What one look found: the transaction, `null` when the chain does not know it, `undefined` when the read failed. */
export type StatusRead = ChainTransaction | null | undefined;

export type StatusPoller = {
  /**
   * The chain's view of `txid` at the next tick, read with every other transaction waiting then, or sooner when a
   * pushed block holds it. Never rejects.
   */
  next(chain: ChainClient, txid: string): Promise<StatusRead>;
  /** How many transactions wait for the next tick (tests, metrics). */
  readonly waiting: number;
  /**
   * Starts hearing a chain's pushed blocks now, where its client pushes them, rather than at its first wait: a block
   * mined before the channel is open is never heard, and the first settlements would wait for the tick.
   */
  watch(chain: ChainClient): void;
  /** Stops watching every chain's blocks; reads go on at the ticks alone. */
  close(): void;
};

/**
 * @param intervalMs the least time from the start of one read to the start of the next; a read that takes longer is
 *   followed at once, so a slow read never pushes every later look back by its own time. A poller that never read
 *   (or whose clock stepped back) waits one whole interval; nothing runs while nothing waits.
 * @param now the clock the interval is measured on.
 * @example
 * ```ts
 * const poller = createStatusPoller(1_000, (ms) => new Promise((r) => setTimeout(r, ms)), Date.now);
 * const tx = await poller.next(chain, txid); // at the next tick, in one read with the others due then
 * ```
 */
export function createStatusPoller(
  intervalMs: number,
  sleep: (ms: number) => Promise<void>,
  now: () => number,
): StatusPoller {
  const waiting = new Map<ChainClient, Map<string, ((read: StatusRead) => void)[]>>();
  let count = 0;
  let running = false;
  /** Ends the run loop's wait for its tick early: a pushed block holds a waiting transaction. */
  let wake: (() => void) | undefined;
  const hints = createBlockHints(now, () => wake?.());
  /** When the last read began: after an idle spell the next tick falls on the grid it began. */
  let readAt: number | undefined;

  /**
   * The poller's sleep. One that fails (a custom one), by rejecting or by throwing, must not strand the waiters, nor
   * end the run loop with an unhandled rejection: this poller's own timer stands in.
   */
  function sleepOrTimer(ms: number): Promise<unknown> {
    const timer = () => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      return sleep(ms).catch(timer);
    } catch {
      return timer();
    }
  }

  /** @param reading whether a read just ended in this run (no idle spell since). */
  function untilNextTick(reading: boolean): number {
    if (readAt === undefined) return intervalMs;
    const since = now() - readAt;
    // A clock stepped back (or not a number) says nothing of when the last read was: one whole interval.
    if (!(since >= 0)) return intervalMs;
    if (since < intervalMs) return intervalMs - since;
    return reading ? 0 : (intervalMs - (since % intervalMs)) % intervalMs;
  }

  async function run(): Promise<void> {
    try {
      /** The coming tick: one sleep, raced by every wake until it ends, so pushed blocks never move it. */
      let tick: Promise<true> | undefined;
      /** Whether that sleep ended: reads of pushed blocks, however many, never keep the tick's read waiting. */
      let ticked = false;
      for (let reading = false; waiting.size > 0; reading = true) {
        if (tick === undefined) {
          const wait = untilNextTick(reading);
          ticked = !(wait > 0);
          tick = ticked
            ? Promise.resolve(true as const)
            : sleepOrTimer(wait).then(() => {
                ticked = true;
                return true as const;
              });
        }
        if (!ticked && hints.due === 0) {
          const woken = new Promise<false>((resolve) => {
            wake = () => resolve(false);
          });
          await Promise.race([tick, woken]);
          wake = undefined;
        }
        if (!ticked) {
          await readDue();
          continue;
        }
        tick = undefined;
        ticked = false;
        readAt = now();
        const due = [...waiting];
        waiting.clear();
        hints.clear();
        count = 0;
        await Promise.all(due.map(([chain, listeners]) => lookAll(chain, listeners)));
      }
    } finally {
      running = false;
    }
  }

  /** Reads the waiting transactions pushed blocks hold, apart from the tick. */
  async function readDue(): Promise<void> {
    const reads: Promise<void>[] = [];
    for (const [chain, txids] of hints.takeDue()) {
      const listeners = waiting.get(chain);
      if (!listeners) continue;
      const taken = new Map<string, ((read: StatusRead) => void)[]>();
      for (const txid of txids) {
        const forTxid = listeners.get(txid);
        if (!forTxid) continue;
        listeners.delete(txid);
        count -= forTxid.length;
        taken.set(txid, forTxid);
      }
      if (listeners.size === 0) waiting.delete(chain);
      if (taken.size > 0) reads.push(lookAll(chain, taken));
    }
    await Promise.all(reads);
  }

  return {
    next(chain, txid) {
      return new Promise<StatusRead>((resolve) => {
        let listeners = waiting.get(chain);
        if (!listeners) {
          listeners = new Map();
          waiting.set(chain, listeners);
        }
        const forTxid = listeners.get(txid);
        if (forTxid) forTxid.push(resolve);
        else listeners.set(txid, [resolve]);
        count++;
        if (!running) {
          running = true;
          void run();
        }
        // After the run started: whatever a hint does, this waiter is read at the tick.
        try {
          hints.waiting(chain, txid);
        } catch {
          // A txid the hints cannot key waits for the tick.
        }
      });
    },
    get waiting() {
      return count;
    },
    watch: (chain) => hints.watch(chain),
    close: () => hints.close(),
  };
}

async function lookAll(
  chain: ChainClient,
  listeners: Map<string, ((read: StatusRead) => void)[]>,
): Promise<void> {
  const txids = [...listeners.keys()];
  // A client that throws where it should reject (or answers something that is not a Map) fails this round's looks,
  // never the poller: each waiter hears `undefined` (the read failed) and asks again.
  const found = await readStatuses(chain, txids).catch(() => new Map<string, StatusRead>());
  for (const [txid, resolves] of listeners) {
    const read = found.get(txid);
    for (const resolve of resolves) resolve(read);
  }
}

/**
 * One batched read where the client has it. A batch that fails as a whole (one answer the client cannot read spoils
 * the lot) is read again one by one, so a single bad answer never blinds the poller to the others.
 * @returns each txid as given, with its read (`undefined` where the read failed).
 * @example
 * ```ts
 * const reads = await readStatuses(chain, [txidA, txidB]); // one tx/multiple request where the API has it
 * ```
 */
export async function readStatuses(
  chain: ChainClient,
  txids: readonly string[],
): Promise<Map<string, StatusRead>> {
  if (chain.getTransactions && txids.length > 1) {
    const batch = await Promise.resolve()
      .then(() => chain.getTransactions!(txids))
      .catch(() => undefined);
    if (batch instanceof Map) return new Map(txids.map((txid) => [txid, batch.get(bare(txid))]));
  }
  const single = await Promise.all(
    txids.map((txid) =>
      Promise.resolve()
        .then(() => chain.getTransaction(txid))
        .catch(() => undefined),
    ),
  );
  return new Map(txids.map((txid, k) => [txid, single[k]]));
}

function bare(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
