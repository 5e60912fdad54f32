/**
 * Prometheus metrics for `GET /metrics`: how many verifies and settles, with what outcome, and how long they took.
 * Each app gets its own registry, so two apps in one process (tests) never share counters.
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  type Facilitator,
  SETTLE_STEPS,
  type SettleStep,
  type SponsorHealth,
} from 'x402-stacks/facilitator';

export type FacilitatorMetrics = {
  readonly registry: Registry;
  /** Records one verify or settle: its outcome label (`valid`, `success`, or the reason code) and its duration. */
  observe(operation: 'verify' | 'settle', outcome: string, seconds: number): void;
  /** Records how long one step of a settlement took (the engine's `onSettleStep`). */
  observeSettleStep(step: SettleStep, milliseconds: number): void;
};

/**
 * Creates the metrics of one facilitator app.
 * @example
 * ```ts
 * const metrics = createMetrics();
 * metrics.observe('settle', 'success', 1.2);
 * metrics.observeSettleStep('broadcast', 3.5);
 * ```
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): FacilitatorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'x402_facilitator_' });
  const requests = new Counter({
    name: 'x402_facilitator_requests_total',
    help: 'Verify and settle requests by operation and outcome (valid, success, or the reason code).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'x402_facilitator_request_duration_seconds',
    help: 'Time to answer a verify or settle request.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const stepSeconds = new Histogram({
    name: 'x402_facilitator_settle_step_seconds',
    help: `Time each step of a settlement took: ${SETTLE_STEPS.join(', ')}.`,
    labelNames: ['step'] as const,
    buckets: [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ],
    registers: [registry],
  });
  // Every step listed from the start, at zero: a dashboard sees the steps a settlement did not take as such.
  for (const step of SETTLE_STEPS) stepSeconds.zero({ step });
  return {
    registry,
    observe(operation, outcome, seconds) {
      requests.inc({ operation, outcome });
      duration.observe({ operation }, seconds);
    },
    observeSettleStep(step, milliseconds) {
      stepSeconds.observe({ step }, milliseconds / 1000);
    },
  };
}

/**
 * The same engine, with every verify and settle counted by outcome and timed.
 * @example
 * ```ts
 * const measured = withMetrics(facilitator, createMetrics());
 * ```
 */
export function withMetrics(facilitator: Facilitator, metrics: FacilitatorMetrics): Facilitator {
  return {
    ...facilitator,
    async verify(payload, requirements) {
      const started = performance.now();
      const verdict = await facilitator.verify(payload, requirements);
      const outcome = verdict.isValid ? 'valid' : (verdict.invalidReason ?? 'invalid');
      metrics.observe('verify', outcome, (performance.now() - started) / 1000);
      return verdict;
    },
    async settle(payload, requirements, options) {
      const started = performance.now();
      const settled = await facilitator.settle(payload, requirements, options);
      const outcome = settled.success ? 'success' : (settled.errorReason ?? 'failed');
      metrics.observe('settle', outcome, (performance.now() - started) / 1000);
      return settled;
    },
  };
}

/**
 * Gauges of the sponsor keys, read from what the keeper last saw: balance, pending transactions, and whether the key
 * runs low (below the pool's minimum balance, so it is not used). Registered once per registry.
 * @example
 * ```ts
 * watchSponsors(metrics, facilitator);
 * ```
 */
export function watchSponsors(metrics: FacilitatorMetrics, facilitator: Facilitator): void {
  const { registry } = metrics;
  if (registry.getSingleMetric('x402_facilitator_sponsor_balance_microstx')) return;
  const labelNames = ['network', 'sponsor'] as const;
  const gauge = (name: string, help: string, read: (h: SponsorHealth) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const health of facilitator.sponsorHealth()) {
          const value = read(health);
          if (value !== undefined)
            this.set({ network: health.network, sponsor: health.address }, value);
        }
      },
    });
  gauge(
    'x402_facilitator_sponsor_balance_microstx',
    'Each sponsor key’s STX balance as last read, micro-STX.',
    (h) => (h.balance === undefined ? undefined : Number(h.balance)),
  );
  gauge(
    'x402_facilitator_sponsor_pending',
    'Each sponsor key’s transactions in the mempool.',
    (h) => h.pending,
  );
  gauge(
    'x402_facilitator_sponsor_low',
    '1 when a sponsor key holds less than the minimum balance and is not used.',
    (h) => (h.low ? 1 : 0),
  );
}
