/**
 * A service entry point's stop: the first SIGINT or SIGTERM stops the service within its deadline and ends the
 * process.
 * @module
 */
import { listenForStop } from './listen-for-stop.js';
import { type StopLines, type StopOptions, stopWithin } from './stop-within.js';

/** How an entry point stops, beyond {@link StopOptions}. */
export type SignalStopOptions = StopOptions & {
  /** Printed as soon as a signal comes, after `<signal>: `. */
  readonly stopping: string;
};

/**
 * Stops `service` on the first SIGINT or SIGTERM (with {@link stopWithin}) and exits the process with the stop's
 * code. Further signals while it stops, of either kind, change nothing: one stop, one deadline. Call it before
 * printing the line that says the service is ready (see {@link listenForStop}).
 * @example
 * ```ts
 * const service = await startRegistryService(config);
 * stopOnSignals(service, { out: console.log, err: console.error }, { stopping: 'stopping' });
 * console.log(`registry on ${service.url}`);
 * ```
 */
export function stopOnSignals(
  service: { stop(): Promise<void> },
  lines: StopLines,
  options: SignalStopOptions,
): void {
  // Never released: the process ends with the stop.
  void listenForStop().first.then(async (signal) => {
    lines.out(`${signal}: ${options.stopping}`);
    process.exit(await stopWithin(service, signal, lines, options));
  });
}
