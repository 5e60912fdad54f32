/**
 * A service entry point's stop: the first SIGINT or SIGTERM stops the service within its deadline and ends the
 * process.
 * @module
 */
import { type StopLines, type StopOptions, stopWithin } from './stop-within.js';

/** How an entry point stops, beyond {@link StopOptions}. */
export type SignalStopOptions = StopOptions & {
  /** Printed as soon as a signal comes, after `<signal>: `. */
  readonly stopping: string;
};

/**
 * Stops `service` on the first SIGINT or SIGTERM (with {@link stopWithin}) and exits the process with the stop's
 * code. A second signal while it stops changes nothing: one stop, one deadline.
 * @example
 * ```ts
 * const service = await startRegistryService(config);
 * stopOnSignals(service, { out: console.log, err: console.error }, { stopping: 'stopping' });
 * ```
 */
export function stopOnSignals(
  service: { stop(): Promise<void> },
  lines: StopLines,
  options: SignalStopOptions,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    lines.out(`${signal}: ${options.stopping}`);
    process.exit(await stopWithin(service, signal, lines, options));
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
