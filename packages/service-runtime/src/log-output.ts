/**
 * Where a service's log lines go: standard output, written off the event loop, as they come or held until a few KiB
 * wait (the facilitator holds 4 KiB: a write(2) per request line cost about a fifth of a /verify).
 *
 * The log never holds the service up, nor its stop:
 * - There is one write in flight at a time, on libuv's pool. Lines that come meanwhile go out together after it.
 * - A reader that falls behind has at most {@link MAX_HELD_CHARS} characters held for it; newer lines past that are
 *   dropped.
 * - A write the reader cannot take yet (EAGAIN) is tried again 100 ms later.
 * - A write that fails otherwise gives the output up: the lines from then on are dropped. This covers a reader that
 *   went away (EPIPE, a log shipper that died) or a full disk.
 * - Nothing is ever written synchronously: pino's own destination flushed at exit with a loop that retries a failed
 *   write forever, so a facilitator whose reader had died hung in its stop, deaf to every later signal.
 *
 * A stop flushes with a bound (`flush`). A crash loses what was held and the write in flight: about `bufferBytes`
 * when the reader keeps up. Lines longer together than a pipe's atomic write (4 KiB) can be split by another writer
 * of the same output (a `console.log`) while the reader is behind.
 * The ledger, not the log, is the record of payments.
 * @module
 */
import { write } from 'node:fs';
import { waitAtMost } from './wait-at-most.js';

/**
 * Characters of lines held for a slow reader before newer ones are dropped: about a minute of request lines at a
 * thousand a second.
 */
const MAX_HELD_CHARS = 16 * 1024 * 1024;

/** How long a write the reader was not ready for (EAGAIN) waits before it is tried again. */
const RETRY_MS = 100;
/**
 * Lines held below `bufferBytes` go out after at most this long: a quiet service's warning must not wait for the next
 * 4 KiB of lines, or a stop, to be seen.
 */
const HOLD_MS = 250;

const STDOUT = 1;

/** Standard output as a service logs to it. */
export type LogOutput = {
  /** The destination to give pino. */
  readonly stream: { write(line: string): void };
  /** Writes what is held, waiting at most `withinMs` for the reader; never rejects. */
  flush(withinMs: number): Promise<void>;
};

/**
 * Standard output for a service's logger.
 * @param bufferBytes lines are held until this many bytes wait; 0 writes each line as it comes (several together
 *   while a write is in flight).
 * @example
 * ```ts
 * const output = logOutput(4096);
 * const logger = pino({ level: 'info' }, output.stream);
 * await output.flush(1_000); // at stop
 * ```
 */
export function logOutput(bufferBytes: number): LogOutput {
  // Opening process.stdout makes libuv set fd 1 non-blocking. A blocking one would let a stalled reader hold a pool
  // thread in write(2) for good, and the process's exit waits for the pool's threads.
  void process.stdout;
  let held: string[] = [];
  let heldChars = 0;
  /** A write is in flight, or waits to be tried again. */
  let busy = false;
  let givenUp = false;
  /** The wait before a write the reader was not ready for is tried again. */
  let retry: NodeJS.Timeout | undefined;
  const flushed: (() => void)[] = [];
  /** Sends what is held once it has waited `HOLD_MS`; unref'd, so it never keeps the process alive. */
  let linger: NodeJS.Timeout | undefined;

  function lingerHeld(): void {
    if (linger !== undefined || givenUp || held.length === 0) return;
    linger = setTimeout(() => {
      linger = undefined;
      sendHeld();
    }, HOLD_MS);
    linger.unref();
  }

  function settleFlushes(): void {
    if (givenUp || (!busy && held.length === 0)) for (const done of flushed.splice(0)) done();
  }

  function sendHeld(): void {
    if (!busy && !givenUp && held.length > 0) {
      const chunk = Buffer.from(held.join(''));
      held = [];
      heldChars = 0;
      send(chunk);
    }
    settleFlushes();
  }

  function send(chunk: Buffer): void {
    busy = true;
    write(STDOUT, chunk, 0, chunk.length, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN') {
          retry = setTimeout(() => {
            retry = undefined;
            send(chunk);
          }, RETRY_MS);
          // Only a flush waiting for these lines keeps the process alive for them (`flush` refs a wait under way).
          if (flushed.length === 0) retry.unref();
          return;
        }
        busy = false;
        givenUp = true;
        held = [];
        heldChars = 0;
        settleFlushes();
        return;
      }
      if (written < chunk.length) {
        send(chunk.subarray(written));
        return;
      }
      busy = false;
      if (heldChars >= bufferBytes || flushed.length > 0) sendHeld();
      else lingerHeld();
    });
  }

  return {
    stream: {
      write(line) {
        if (givenUp || heldChars + line.length > MAX_HELD_CHARS) return;
        held.push(line);
        heldChars += line.length;
        if (heldChars >= bufferBytes) sendHeld();
        else lingerHeld();
      },
    },
    async flush(withinMs) {
      let resolve!: () => void;
      const done = new Promise<void>((settle) => {
        resolve = settle;
        flushed.push(settle);
      });
      retry?.ref();
      sendHeld();
      await waitAtMost(withinMs, done);
      // A flush cut at its bound stops waiting, and stops keeping the process alive for a retry with it.
      const at = flushed.indexOf(resolve);
      if (at !== -1) flushed.splice(at, 1);
      if (flushed.length === 0) retry?.unref();
    },
  };
}
