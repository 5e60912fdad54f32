/** A wait in a test that ends on its own, with a reason, before the test runner's timeout. */

/** What `until` waits for: anything but `undefined` or `false`. */
type Reached<T> = Exclude<T, undefined | false>;

/**
 * Polls `read` until it answers something other than `undefined` or `false`, and answers that; fails after `ms`
 * naming `what`. A condition (`() => boolean`) answers `true`.
 * @example
 * ```ts
 * await until(() => devnet.chain.mempool.length > 0, 'the broadcast');
 * const txid = await until(async () => (await read())?.txid, 'the claim', { ms: 30_000 });
 * ```
 */
export async function until<T>(
  read: () => T | Promise<T>,
  what: string,
  { ms = 20_000, everyMs = 10 }: { ms?: number; everyMs?: number } = {},
): Promise<Reached<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value as Reached<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
