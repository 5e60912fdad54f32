/**
 * Where a service's settlements spent their time, from its `/metrics` (`x402_facilitator_settle_step_seconds`): read
 * before and after the measured rounds, the difference is their steps alone.
 */

/** Per step, the seconds summed and the settlements counted, as `/metrics` reads now. */
export type StepTotals = ReadonlyMap<string, { readonly seconds: number; readonly count: number }>;

const SERIES = /^x402_facilitator_settle_step_seconds_(sum|count)\{step="([a-z_]+)"\} (\S+)$/gm;

/**
 * Reads a service's settle step totals; undefined for a build without them (before the metric existed), or when its
 * `/metrics` cannot be read: a missing breakdown must not cost the run's other figures.
 * @example
 * ```ts
 * const before = await readStepTotals(service.url);
 * ```
 */
export async function readStepTotals(url: string): Promise<StepTotals | undefined> {
  const text = await fetch(`${url}/metrics`).then(
    (response) => response.text(),
    () => '',
  );
  const totals = new Map<string, { seconds: number; count: number }>();
  for (const [, kind, step, value] of text.matchAll(SERIES)) {
    const total = totals.get(step!) ?? { seconds: 0, count: 0 };
    if (kind === 'sum') total.seconds = Number(value);
    else total.count = Number(value);
    totals.set(step!, total);
  }
  return totals.size > 0 ? totals : undefined;
}

/**
 * Each step's mean in ms over the reports between two readings, and how many there were (a settlement reports a step
 * once, except a sponsored one whose sponsor nonce the node refused: it reports its steps from the claim on again);
 * steps none took are left out, and so is everything when either reading is missing.
 * @example
 * ```ts
 * const means = stepMeans(before, await readStepTotals(service.url));
 * ```
 */
export function stepMeans(
  before: StepTotals | undefined,
  after: StepTotals | undefined,
): Map<string, { readonly meanMs: number; readonly count: number }> {
  const means = new Map<string, { meanMs: number; count: number }>();
  if (!before || !after) return means;
  for (const [step, total] of after) {
    const earlier = before.get(step) ?? { seconds: 0, count: 0 };
    const count = total.count - earlier.count;
    if (count > 0)
      means.set(step, { meanMs: ((total.seconds - earlier.seconds) * 1000) / count, count });
  }
  return means;
}
