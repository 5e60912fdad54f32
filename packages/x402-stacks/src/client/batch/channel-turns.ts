/**
 * One request at a time per channel, in this process: a voucher must be signed from the charged total the previous
 * request left, so two requests on one channel signing at once would both sign the same total and one would be
 * refused. A turn is bounded, so a caller that never reports an answer cannot block the channel for good.
 * @module
 */

/**
 * Hands out turns per channel slot.
 * @example
 * ```ts
 * const turns = createChannelTurns(60_000);
 * const end = await turns.take('stacks:2147483648|ST1….batch-escrow|…');
 * try { await pay(); } finally { end(); }
 * ```
 */
export function createChannelTurns(turnMs: number): {
  take(slot: string): Promise<() => void>;
} {
  const tails = new Map<string, Promise<void>>();
  return {
    async take(slot) {
      const previous = tails.get(slot) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      tails.set(slot, mine);
      await previous;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        if (tails.get(slot) === mine) tails.delete(slot);
        release();
      };
      const timer = setTimeout(end, turnMs);
      (timer as { unref?: () => void }).unref?.();
      return end;
    },
  };
}
