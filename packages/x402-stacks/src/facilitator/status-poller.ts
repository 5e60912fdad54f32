/**
 * The status reads of every settlement being followed, on one timer: each interval, the transactions waiting on a
 * chain are read together (`tx/multiple`, 50 a request, where the API has it), however many settlements wait. A
 * settlement's own loop only says which transaction it wants to hear about next; it never holds a timer or a request
 * of its own.
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
 * @param intervalMs the time between ticks while anything waits, from the start of one read to the start of the next
 *   (a slow read does not push every later look back by its own time); nothing runs while nothing waits.
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

  async function run(): Promise<void> {
    // The first tick after an idle spell comes a whole interval after the first waiter; each later one an interval
    // after the previous read began.
    let readAt: number | undefined;
    while (waiting.size > 0) {
      const since = readAt === undefined ? 0 : now() - readAt;
      await sleep(since > 0 ? Math.max(0, intervalMs - since) : intervalMs);
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
