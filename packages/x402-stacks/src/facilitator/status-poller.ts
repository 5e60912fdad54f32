/**
 * The status reads of every settlement being followed, on one timer: each interval, the transactions waiting on a
 * chain are read together (`tx/multiple`, 50 a request, where the API has it), however many settlements wait. A
 * settlement's own loop only says which transaction it wants to hear about next; it never holds a timer or a request
 * of its own.
 *
 * The ticks fall on one grid, an interval apart, that an idle spell does not reset: a transaction waits at most one
 * interval for its look (half of one on average), and the chain is read at most once an interval. Restarting the
 * interval at the first waiter after an idle spell made every look wait a whole one. Under a steady load the poller is
 * never idle and nothing changes; settlements arriving in bursts (each burst answered by one read, the next burst
 * waiting) were the case that waited twice as long as it had to.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { ChainTransaction } from '../chain/types.js';

/** What one look found: the transaction, `null` when the chain does not know it, `undefined` when the read failed. */
export type StatusRead = ChainTransaction | null | undefined;

export type StatusPoller = {
  /** The chain's view of `txid` at the next tick, read with every other transaction waiting then. Never rejects. */
  next(chain: ChainClient, txid: string): Promise<StatusRead>;
  /** How many transactions wait for the next tick (tests, metrics). */
  readonly waiting: number;
};

/**
 * @param intervalMs the grid's spacing: reads begin on it, so at least this far apart (a read that outlasts it moves
 *   the next to the following grid point, and never pushes every later look back by its own time). The first tick
 *   comes a whole interval after the first waiter; nothing runs while nothing waits.
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
  /** When the last read began: the ticks fall on a grid `intervalMs` apart from it, idle spells included. */
  let readAt: number | undefined;

  function untilNextTick(): number {
    if (readAt === undefined) return intervalMs;
    const since = now() - readAt;
    // A clock stepped back says nothing of when the last read was: one whole interval, not the time it stepped.
    if (since < 0) return intervalMs;
    return since < intervalMs
      ? intervalMs - since
      : (intervalMs - (since % intervalMs)) % intervalMs;
  }

  async function run(): Promise<void> {
    while (waiting.size > 0) {
      await sleep(untilNextTick());
      readAt = now();
      const due = [...waiting];
      waiting.clear();
      count = 0;
      await Promise.all(due.map(([chain, listeners]) => lookAll(chain, listeners)));
    }
    running = false;
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
      });
    },
    get waiting() {
      return count;
    },
  };
}

async function lookAll(
  chain: ChainClient,
  listeners: Map<string, ((read: StatusRead) => void)[]>,
): Promise<void> {
  const txids = [...listeners.keys()];
  const found = await readStatuses(chain, txids);
  for (const [txid, resolves] of listeners) {
    const read = found.get(txid);
    for (const resolve of resolves) resolve(read);
  }
}

/**
 * One batched read where the client has it. A batch that fails as a whole (one answer the client cannot read spoils
 * the lot) is read again one by one, so a single bad answer never blinds the poller to the others.
 */
async function readStatuses(
  chain: ChainClient,
  txids: readonly string[],
): Promise<Map<string, StatusRead>> {
  if (chain.getTransactions && txids.length > 1) {
    const batch = await chain.getTransactions(txids).catch(() => undefined);
    if (batch) return new Map(txids.map((txid) => [txid, batch.get(bare(txid))]));
  }
  const single = await Promise.all(
    txids.map((txid) => chain.getTransaction(txid).catch(() => undefined)),
  );
  return new Map(txids.map((txid, k) => [txid, single[k]]));
}

function bare(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
