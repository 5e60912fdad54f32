/**
 * A stop's bounded wait for work it cannot cut.
 * @module
 */

/**
 * Waits for `work` to settle, or for `ms` to pass, whichever comes first; never rejects. The timer does not hold the
 * process open and is cleared as soon as the work settles.
 * @example
 * ```ts
 * // A stop gives the calls it cut 3 s to give their claims back, then closes the ledger anyway.
 * await waitAtMost(3_000, Promise.allSettled(calls));
 * ```
 */
export async function waitAtMost(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.then(noop, noop), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}
