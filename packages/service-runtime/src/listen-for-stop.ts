/**
 * Listening for the signals that ask a process to stop, for as long as it takes to stop.
 * @module
 */

/** The signals that ask a process to stop. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** A process's listening for SIGINT and SIGTERM. */
export type StopListener = {
  /** Resolves with the first signal to come. */
  readonly first: Promise<StopSignal>;
  /** Stops listening: a signal after this ends the process as Node's default does. */
  release(): void;
};

/**
 * Listens for SIGINT and SIGTERM from now on, until `release()`. Later signals, of either kind, change nothing: a
 * second Ctrl-C, or a `kill` sent twice, must not cut a stop short. (A `process.once` listener would: with the last
 * listener of a signal gone, Node gives the signal back its default action, which ends the process at once.)
 *
 * Call it before printing the line that says the process is ready: a signal that comes before a listener is set ends
 * the process outright, and a supervisor may signal as soon as it reads that line.
 * @example
 * ```ts
 * const stop = listenForStop();
 * console.log(`listening on ${url}`);
 * try {
 *   await stop.first;
 *   await server.close();
 * } finally {
 *   stop.release();
 * }
 * ```
 */
export function listenForStop(): StopListener {
  let heard!: (signal: StopSignal) => void;
  const first = new Promise<StopSignal>((resolve) => {
    heard = resolve;
  });
  const onInterrupt = () => heard('SIGINT');
  const onTerminate = () => heard('SIGTERM');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  return {
    first,
    release() {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onTerminate);
    },
  };
}
