/** How many random cases a fuzz or property test runs, set by X402_FUZZ_RUNS. */

/**
 * The number of random cases for a fuzz test whose full run is `full` cases. X402_FUZZ_RUNS chooses:
 * - `full` (what `npm test` runs; also the default when unset): `full`;
 * - `quick` (what `npm run test:unit` runs unless told otherwise): a fortieth of `full`, at least 1;
 * - a positive integer N: N, to dig deeper than `full` or to replay a small case.
 *
 * @example
 * const BASES = fuzzRuns(400); // 400 under npm test, 10 under npm run test:unit
 */
export function fuzzRuns(full: number, env: NodeJS.ProcessEnv = process.env): number {
  const setting = env.X402_FUZZ_RUNS ?? 'full';
  if (setting === 'full') return full;
  if (setting === 'quick') return Math.max(1, Math.ceil(full / 40));
  const count = Number(setting);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new Error(`X402_FUZZ_RUNS must be full, quick or a positive integer, not ${setting}`);
  }
  return count;
}
