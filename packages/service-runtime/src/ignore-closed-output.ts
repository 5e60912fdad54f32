/**
 * A service outlives the reader of its output: when a pipe's reader goes away (a log shipper that died, a terminal
 * closed), standard output and error fail with EPIPE, and a stream error nobody listens for ends the process. A
 * service that handles payments keeps serving; what it prints from then on is lost.
 * @module
 */

/**
 * Makes write errors on standard output and standard error cost only the lines written. Call it first in a service's
 * entry point; calls after the first change nothing.
 * @example
 * ```ts
 * ignoreClosedOutput();
 * const service = await startRegistryService(config);
 * ```
 */
export function ignoreClosedOutput(): void {
  if (ignoring) return;
  ignoring = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', ignore);
}

let ignoring = false;

function ignore(): void {}
