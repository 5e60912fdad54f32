/**
 * What pushed blocks tell a status poller: which of the transactions it waits for to read now rather than at its next
 * tick. A chain client that pushes blocks (`watchBlocks`) is watched from the first time the poller meets it; a
 * waiting transaction a pushed block holds becomes due at once. A block pushed before its transaction's first wait (a
 * devnet mines before it answers the broadcast) is remembered for 10 s, at most 10,000 txids a chain, so that wait is
 * due at once too, but only once: a read that still finds the transaction pending waits for the tick.
 *
 * Nothing here reads or decides: a wrong or lying block costs one read too many, never a wrong answer.
 * @module
 */
import type { ChainClient } from '../chain/client.js';

/** How long a pushed block's txids are remembered for a first wait that comes after the block. */
const REMEMBER_MS = 10_000;
/** At most this many such txids are remembered per chain, the oldest forgotten first. */
const REMEMBER_MAX = 10_000;

export type BlockHints = {
  /** Starts hearing a chain's pushed blocks now, where its client pushes them. Once per chain. */
  watch(chain: ChainClient): void;
  /** `txid` (as the poller keys it) waits on `chain` now: due at once when a block already held it. */
  waiting(chain: ChainClient, txid: string): void;
  /** Every transaction waiting was read at a tick: nothing waits, nothing is due. */
  clear(): void;
  /** Takes the due transactions, per chain, as the poller keys them. */
  takeDue(): Map<ChainClient, string[]>;
  /** How many transactions are due. */
  readonly due: number;
  /** Stops hearing every chain; later chains are not watched. */
  close(): void;
};

type Heard = {
  stop: () => void;
  /** Waiting txids, by their bare form (what blocks carry), as the poller keys them. */
  readonly waiting: Map<string, string>;
  readonly due: Set<string>;
  /** Bare txids of pushed blocks that nothing waited for yet, by when they were heard, oldest first. */
  readonly pushed: Map<string, number>;
};

/**
 * @param onDue called when a transaction becomes due, so the poller's wait for its tick can end.
 * @example
 * ```ts
 * const hints = createBlockHints(Date.now, () => wake());
 * hints.watch(chain);
 * hints.waiting(chain, txid);
 * for (const [chain, txids] of hints.takeDue()) read(chain, txids);
 * ```
 */
export function createBlockHints(now: () => number, onDue: () => void): BlockHints {
  const chains = new Map<ChainClient, Heard>();
  let due = 0;
  let closed = false;

  function heardOf(chain: ChainClient): Heard | undefined {
    const known = chains.get(chain);
    if (known || closed || typeof chain.watchBlocks !== 'function') return known;
    const heard: Heard = { stop: () => {}, waiting: new Map(), due: new Set(), pushed: new Map() };
    chains.set(chain, heard);
    try {
      heard.stop = chain.watchBlocks((block) => hear(heard, block.txids));
    } catch {
      // A client whose watch fails is read at the ticks alone.
    }
    return heard;
  }

  function hear(heard: Heard, txids: readonly unknown[]): void {
    if (closed) return;
    const at = now();
    for (const txid of txids) {
      if (typeof txid !== 'string') continue;
      const key = bare(txid);
      const asked = heard.waiting.get(key);
      if (asked !== undefined) markDue(heard, asked);
      else remember(heard, key, at);
    }
  }

  function remember(heard: Heard, key: string, at: number): void {
    heard.pushed.delete(key);
    heard.pushed.set(key, at);
    for (const [old, heardAt] of heard.pushed) {
      if (heard.pushed.size <= REMEMBER_MAX && at - heardAt <= REMEMBER_MS) break;
      heard.pushed.delete(old);
    }
  }

  function markDue(heard: Heard, txid: string): void {
    if (heard.due.has(txid)) return;
    heard.due.add(txid);
    due++;
    onDue();
  }

  return {
    watch(chain) {
      heardOf(chain);
    },
    waiting(chain, txid) {
      const heard = heardOf(chain);
      if (!heard) return;
      const key = bare(txid);
      heard.waiting.set(key, txid);
      const heardAt = heard.pushed.get(key);
      if (heardAt === undefined) return;
      heard.pushed.delete(key);
      if (now() - heardAt <= REMEMBER_MS) markDue(heard, txid);
    },
    clear() {
      for (const heard of chains.values()) {
        heard.waiting.clear();
        heard.due.clear();
      }
      due = 0;
    },
    takeDue() {
      const taken = new Map<ChainClient, string[]>();
      for (const [chain, heard] of chains) {
        if (heard.due.size === 0) continue;
        const txids = [...heard.due];
        heard.due.clear();
        for (const txid of txids) heard.waiting.delete(bare(txid));
        taken.set(chain, txids);
      }
      due = 0;
      return taken;
    },
    get due() {
      return due;
    },
    close() {
      closed = true;
      for (const heard of chains.values()) {
        try {
          heard.stop();
        } catch {
          // Stopping is best effort: the poller reads at its ticks either way.
        }
      }
      chains.clear();
      due = 0;
    },
  };
}

/** Lower-case hex without `0x`, as blocks carry txids; anything else compares as given. */
function bare(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
