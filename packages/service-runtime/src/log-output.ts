/**
 * Where a service's log lines go: standard output, written as they come or buffered (the facilitator writes 4 KiB at
 * a time: a write(2) per request line cost about a fifth of a /verify, and a crash loses at most the last 4 KiB; the
 * ledger, not the log, is the record of payments).
 *
 * The log never holds the service up. A reader that went away (a log shipper or pipe that died: EPIPE) costs the lines
 * from then on, not the process: without a listener, the failed write's error event would end it, and a synchronous
 * flush retries a failed write forever (sonic-boom 4 retries every error but EAGAIN's, 100 ms apart), so a stop would
 * hang and leave the process deaf to every later signal. A reader that only falls behind holds at most
 * {@link MAX_BUFFERED_BYTES}; lines past that are dropped.
 * @module
 */
import { type DestinationStream, pino } from 'pino';
import { waitAtMost } from './wait-at-most.js';

/** Lines held for a slow reader before new ones are dropped: about a minute of request lines at a thousand a second. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Standard output as the service logs to it. */
export type LogOutput = {
  readonly stream: DestinationStream;
  /** Writes the buffered lines, waiting at most `withinMs` for the reader; never rejects. */
  flush(withinMs: number): Promise<void>;
};

/**
 * Standard output for a service's logger.
 * @param bufferBytes lines are held until this many bytes wait, then written off the event loop; 0 writes each line
 *   as it comes, synchronously.
 * @example
 * ```ts
 * const output = logOutput(4096);
 * const logger = pino({ level: 'info' }, output.stream);
 * await output.flush(1_000); // at stop
 * ```
 */
export function logOutput(bufferBytes: number): LogOutput {
  const destination = pino.destination({
    dest: 1,
    sync: bufferBytes === 0,
    minLength: bufferBytes,
    maxLength: MAX_BUFFERED_BYTES,
  });
  let readerGone = false;
  destination.on('error', () => {
    readerGone = true;
  });
  return {
    stream: destination,
    flush(withinMs) {
      if (readerGone) return Promise.resolve();
      return waitAtMost(
        withinMs,
        new Promise<void>((resolve) => {
          try {
            destination.flush(() => resolve());
          } catch {
            resolve();
          }
        }),
      );
    },
  };
}
