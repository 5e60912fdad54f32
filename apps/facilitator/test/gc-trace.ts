/** Reading V8's heap growing factor off a child process's `--trace-gc-verbose` output, for the heap growth tests. */
import type { RunningProcess } from '@x402-stacks/test-kit';

/** Node's flags for a child that reports each full collection's growing factor. */
export const GC_TRACING = ['--expose-gc', '--trace-gc-verbose'];

/** A preload that runs a full collection every 50 ms, so that a service's factor shows soon after it listens. */
export const COLLECTING = [
  '--import',
  'data:text/javascript,setInterval(() => globalThis.gc(), 50).unref()',
];

/**
 * The factors V8 grew the old generation by at each full collection in `output`, in order. This V8 prints the factor
 * it applied at the end of the `Limit:` line; newer ones print it in a `factor … based on` line instead (where this
 * one prints its own choice before an override, then the `Limit:` line with the factor applied).
 */
export function factorsIn(output: string): string[] {
  const lines = output.matchAll(
    /\[HeapController\] (?:factor ([\d.]+) based on|Limit: .*\(([\d.]+)\)$)/gm,
  );
  return [...lines].map((line) => (line[1] ?? line[2])!);
}

/** Whether a full collection after the service printed its URL grew by `factor`, waiting up to 10 s for one. */
export async function grewAfterListening(
  service: RunningProcess,
  factor: string,
): Promise<boolean> {
  const listening = service.output().search(/on http:\/\//);
  for (let waited = 0; waited <= 10_000; waited += 50) {
    if (factorsIn(service.output().slice(listening)).includes(factor)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
