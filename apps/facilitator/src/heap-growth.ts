/**
 * How far the service's old generation may grow past what the last full garbage collection kept, before the next
 * one. A facilitator keeps little alive (about 25 MiB under load: the ledger's statements, caches, sockets), but at
 * thousands of verifies a second V8's own growth factor let the old generation reach three to four times that
 * before collecting it, and the process's peak memory wandered between runs of the same load (141 to 198 MiB in
 * `bench:facilitator`). A fixed factor keeps the peak near the live size, for a full collection more often: each
 * takes a few milliseconds with this little alive.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Sets V8's heap growing factor for this process to `1 + percent / 100`; 0 gives V8 back its own choice. V8 reads
 * the factor at each full collection, so it applies from the next one, set after the process started. Process-wide:
 * the service owns its process, so only the service calls this.
 * @example
 * ```ts
 * limitHeapGrowth(config.heapGrowthPercent); // 30: a full collection once the old generation is 1.3× what the last kept
 * ```
 */
export function limitHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) {
    throw new RangeError(`the heap growth percent must be a whole number ≥ 0, got ${percent}`);
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
