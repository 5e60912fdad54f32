/**
 * Calls queued per key: a call runs once the one before it with the same key has settled, and calls with other keys
 * do not wait for it.
 * @module
 */

/** A queue of calls per key; see {@link keyedQueue}. */
export type KeyedQueue = {
  /** Runs `call` after the calls queued before it under `key` have settled, and answers what it answers. */
  run<T>(key: string, call: () => Promise<T>): Promise<T>;
  /** Whether a call under `key` is queued or running. */
  busy(key: string): boolean;
};

/**
 * A queue of calls per key, in process.
 * @param maxRunning how many calls, of every key, may run at once; the rest start as others settle, in the order they
 *   were ready. No bound when omitted.
 * @example
 * ```ts
 * const queue = keyedQueue();
 * await Promise.all([queue.run('a', first), queue.run('a', second)]); // second starts once first settled
 * ```
 */
export function keyedQueue(maxRunning = Number.POSITIVE_INFINITY): KeyedQueue {
  /** Per key, the end of the last call queued: the next one starts after it. */
  const last = new Map<string, Promise<unknown>>();
  let running = 0;
  const ready: (() => void)[] = [];
  /** Runs `call` once fewer than `maxRunning` calls run. */
  async function bounded<T>(call: () => Promise<T>): Promise<T> {
    if (running >= maxRunning) await new Promise<void>((resolve) => ready.push(resolve));
    running++;
    try {
      return await call();
    } finally {
      running--;
      ready.shift()?.();
    }
  }
  return {
    run(key, call) {
      const before = last.get(key);
      const mine = before ? before.then(() => bounded(call)) : bounded(call);
      const ended = mine.catch(() => undefined);
      last.set(key, ended);
      void ended.then(() => {
        if (last.get(key) === ended) last.delete(key);
      });
      return mine;
    },
    busy: (key) => last.has(key),
  };
}
