/**
 * A service's stop on SIGINT or SIGTERM, bounded by a deadline: the facilitator's and the registry's entry points and
 * the CLI's service commands all stop this way.
 * @module
 */

/** How long after SIGINT or SIGTERM a service's process ends, whatever is still running. */
export const STOP_DEADLINE_MS = 15_000;

/** Where a stop writes its lines. */
export type StopLines = {
  out(line: string): void;
  err(line: string): void;
};

/** How one service stops. */
export type StopOptions = {
  /** The line printed once it stopped, after `<signal>: `; none when not given. */
  readonly stopped?: string;
  /** What a stop cut at the deadline leaves behind, appended to the deadline's line. */
  readonly leftBehind?: string;
  /** Defaults to {@link STOP_DEADLINE_MS}. */
  readonly deadlineMs?: number;
};

/**
 * Stops `service` for `signal`, and resolves with the exit code: 0 once it stopped, 1 when its stop failed.
 *
 * A stop must not outlast a supervisor's patience, nor hang on a close that never ends (a request or a database
 * connection waiting on a lock, a probe of a host that does not answer). So at the deadline the process exits with 1
 * whatever still runs, with a line on stderr that says so: a service keeps what it cut short in its own store, as after
 * a kill. Once the stop has ended the deadline stays set but no longer holds the process open: a caller that lets the
 * process end as its last handles close (rather than exiting at once) still ends by then, with `process.exitCode`
 * after a stop that ended (the caller's own code), 1 after one that failed.
 *
 * A failed stop is reported by its error's code or name only: a driver's message may quote a connection string.
 * @example
 * ```ts
 * const stop = listenForStop();
 * try {
 *   process.exitCode = await stopWithin(service, await stop.first, { out: console.log, err: console.error });
 * } finally {
 *   stop.release();
 * }
 * ```
 */
export async function stopWithin(
  service: { stop(): Promise<void> },
  signal: string,
  lines: StopLines,
  options: StopOptions = {},
): Promise<number> {
  const deadlineMs = options.deadlineMs ?? STOP_DEADLINE_MS;
  let code: number | undefined;
  const deadline = setTimeout(() => {
    if (code === undefined) {
      const left = options.leftBehind ? ` (${options.leftBehind})` : '';
      lines.err(`${signal}: still stopping after ${deadlineMs / 1_000} s; exiting${left}`);
    }
    // Stopped already: the code the caller set (`process.exitCode`), which may differ from the stop's own. With no
    // argument at all: an explicit `undefined` would overwrite it.
    if (code === 0) process.exit();
    process.exit(code ?? 1);
  }, deadlineMs);
  try {
    await service.stop();
    if (options.stopped !== undefined) lines.out(`${signal}: ${options.stopped}`);
    code = 0;
  } catch (error) {
    const { code: reason, name } = (error ?? {}) as { code?: unknown; name?: unknown };
    lines.err(`${signal}: stop failed (${String(reason ?? name ?? 'error')})`);
    code = 1;
  }
  deadline.unref();
  return code;
}
