/**
 * What `/health` reports about the chain, from a shared probe instead of a node read per call: a load balancer or a
 * monitor polling `/health` hard must not cost the node more than the payments do. At most one probe runs per
 * `refreshMs`; each answer is based on a probe that started at most `2 × refreshMs` before it.
 * @module
 */
import type { ChainHealth } from 'x402-stacks/facilitator';

/** How long a probe result is served as is, and how long one probe may take. Default of {@link ChainHealthProbeOptions}. */
export const DEFAULT_HEALTH_REFRESH_MS = 5_000;

export type ChainHealthProbeOptions = {
  /** One probe of every network: the engine's `chainHealth()`. */
  probe: () => Promise<ChainHealth[]>;
  /** The networks probed, for the answer of a probe that runs out of time. */
  networks: readonly ChainHealth['network'][];
  /** Default {@link DEFAULT_HEALTH_REFRESH_MS}. */
  refreshMs?: number;
  /** Milliseconds clock. Default `Date.now`. */
  now?: () => number;
};

/**
 * The chain's health as of a recent probe.
 * @example
 * ```ts
 * const health = createChainHealthProbe({ probe: () => facilitator.chainHealth(), networks: ['stacks:2147483648'] });
 * const networks = await health.read(); // [{ network: 'stacks:2147483648', reachable: true, tipHeight: 120 }]
 * ```
 */
export type ChainHealthProbe = {
  /**
   * The latest probe's result when it started less than `refreshMs` ago. Older, up to `2 × refreshMs`: that result
   * at once, while one new probe runs in the background. Older still, or none yet: waits for the new probe, which
   * answers within `refreshMs` (a node that says nothing by then counts as unreachable).
   */
  read(): Promise<readonly ChainHealth[]>;
};

type Snapshot = { readonly startedAt: number; readonly health: readonly ChainHealth[] };

/**
 * Creates the shared probe. It holds no timer between reads: an idle facilitator makes no chain reads for `/health`.
 * @example
 * ```ts
 * const health = createChainHealthProbe({ probe: () => facilitator.chainHealth(), networks, refreshMs: 5_000 });
 * app.get('/health', async (c) => c.json(await health.read()));
 * ```
 */
export function createChainHealthProbe(options: ChainHealthProbeOptions): ChainHealthProbe {
  const { probe, networks, refreshMs = DEFAULT_HEALTH_REFRESH_MS, now = Date.now } = options;
  let latest: Snapshot | undefined;
  let running: Promise<Snapshot> | undefined;

  const refresh = (): Promise<Snapshot> => {
    running ??= (async () => {
      const startedAt = now();
      try {
        const health = await withDeadline(probe(), refreshMs, () =>
          networks.map((network) => ({
            network,
            reachable: false,
            error: `the node did not answer within ${refreshMs} ms`,
          })),
        );
        latest = { startedAt, health };
        return latest;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  return {
    async read() {
      const age = latest ? now() - latest.startedAt : Number.POSITIVE_INFINITY;
      if (latest && age < refreshMs) return latest.health;
      const next = refresh();
      if (latest && age < 2 * refreshMs) return latest.health;
      return (await next).health;
    },
  };
}

/** The promise's value, or `onTimeout()` if it has not settled within `ms` (it keeps running, unobserved). */
function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
    // A probe in flight must not keep a stopping service alive.
    timer.unref?.();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
