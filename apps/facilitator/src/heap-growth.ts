/**
 * How far the service's old generation may grow past what the last full garbage collection kept, before the next
 * one. A facilitator keeps little alive (22–26 MiB after each full collection under `bench:facilitator`'s load), but at
 * thousands of verifies a second V8's own factor (4 on that machine; it depends on the heap's maximum and on how fast
 * the collector runs) let the old generation reach 75–100 MiB before collecting it, and the process's peak memory had
 * a high tail (up to 202 MiB). A fixed factor cuts that tail, at the cost of more frequent full collections: each takes
 * a few milliseconds with this little alive.
 *
 * V8 sets the next limit at the larger of `factor × kept` and `kept + 8 MiB`, plus one semi-space of the young
 * generation (16 MiB once grown), and never past halfway to the heap's maximum. At the service's live size the 8 MiB
 * floor decides, so the next full collection comes at about twice what the last one kept, instead of four times.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

/**
 * A bound of our choosing (a factor of 2). Any fixed factor replaces V8's in every mode, its low-memory factor of 1.1
 * included, so a large one would give up more than it saves.
 * @example
 * ```ts
 * limitHeapGrowth(MAX_HEAP_GROWTH_PERCENT); // the largest factor accepted: 2
 * ```
 */
export const MAX_HEAP_GROWTH_PERCENT = 100;

/**
 * Fixes V8's heap growing factor for this process at `1 + percent / 100`. V8 reads it at each full collection, so it
 * applies from the next one. 0 does nothing: V8 keeps its own factor, or the one `node --heap-growing-percent` gave.
 * Process-wide: called by the service's own entry points (`main.ts`, `x402-stacks facilitator`), once the service
 * listens, never by `startFacilitatorService`, which a program may embed beside its own work. Set after start-up on
 * purpose: a changed V8 flag makes built-in modules loaded afterwards compile without their code cache.
 * @example
 * ```ts
 * const service = await startFacilitatorService(config);
 * limitHeapGrowth(config.heapGrowthPercent); // 30 by default
 * ```
 */
export function limitHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWTH_PERCENT) {
    throw new RangeError(
      `the heap growth percent must be a whole number from 0 to ${MAX_HEAP_GROWTH_PERCENT}, got ${percent}`,
    );
  }
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
