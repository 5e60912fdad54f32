/**
 * The facilitator as a running service: the engine over its ledger (`engine.ts`), unfinished settlements resumed,
 * the keeper started, the routes served, and a graceful stop.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { logOutput, waitAtMost } from '@x402-stacks/service-runtime';
import { type Logger, pino } from 'pino';
import type { Facilitator } from 'x402-stacks';
import { createFacilitatorApp } from './app.js';
import type { FacilitatorConfig } from './config.js';
import { openFacilitator } from './engine.js';
import { createMetrics } from './metrics.js';

/** How long the settle calls a stop cuts get to finish what the cut ends (a nonce wait giving its claim back). */
const CUT_CALLS_MS = 3_000;

/** How long a stop waits for the log's reader to take the buffered lines. */
const FLUSH_LOG_MS = 1_000;

/**
 * What a stop cut at its deadline leaves behind, for the line that says so (every entry point's).
 * @example
 * ```ts
 * const lines = { out: console.log, err: console.error };
 * stopOnSignals(service, lines, { stopping: 'stopping', leftBehind: CUT_STOP_LEAVES });
 * ```
 */
export const CUT_STOP_LEAVES =
  'unfinished settlements stay in the ledger, and the next start resumes them';

/**
 * A running facilitator service: where it listens, its engine, and a graceful stop.
 * @example
 * ```ts
 * const service: FacilitatorService = await startFacilitatorService(config);
 * await service.stop(5_000); // at most 5 s for the requests still running
 * ```
 */
export type FacilitatorService = {
  readonly url: string;
  readonly facilitator: Facilitator;
  /**
   * Stops: new requests are refused 503 `service_stopping`, settle calls waiting on a confirmation answer
   * `settlement_pending` at once, and the requests still running get at most `graceMs` (10 s) to answer before their
   * connections are closed (a payment not yet sent, such as one waiting for its payer's earlier nonce, then gives its
   * claim back, within 3 s). Then the keeper stops and the ledger closes. What a stop cuts short is in the ledger, as after a kill:
   * the next start, or another process's keeper, resumes it.
   */
  stop(graceMs?: number): Promise<void>;
};

/**
 * Starts the service from a configuration. It leaves the process's V8 settings alone: the entry points that own the
 * process apply `heapGrowthPercent` (`limitHeapGrowth`).
 * @example
 * ```ts
 * const service = await startFacilitatorService(loadConfig(process.env));
 * process.on('SIGTERM', () => service.stop());
 * ```
 */
export async function startFacilitatorService(
  config: FacilitatorConfig,
): Promise<FacilitatorService> {
  // Set once the logger exists; a refusal can only come from a settle, after the service started.
  let discoveryLog: Pick<Logger, 'info'> = { info: () => undefined };
  const metrics = createMetrics();
  const opened = await openFacilitator(config, {
    onDiscoveryRefused: (refusal) =>
      discoveryLog.info({ ...refusal }, 'bazaar declaration not listed'),
    onSettleStep: (step, milliseconds) => metrics.observeSettleStep(step, milliseconds),
  });
  const { facilitator } = opened;
  await facilitator.resume();
  // For the life of the service: abandoned claims, lost broadcasts and sponsor nonce gaps are repaired while it runs,
  // not only at the next start.
  facilitator.keeper.start();
  void facilitator.keeper.runOnce().catch(() => undefined);
  // Request lines written 4 KiB at a time (`logOutput`).
  const output = logOutput(4096);
  const logger = pino(
    { level: config.logLevel, base: { service: 'x402-stacks-facilitator' } },
    output.stream,
  );
  discoveryLog = logger;
  let stopRequested = false;
  /** The settle calls running now: the stop gives the ones it cuts a moment to give their claims back. */
  const settling = new Set<Promise<unknown>>();
  const app = createFacilitatorApp({
    facilitator: {
      ...facilitator,
      settle(paymentPayload, paymentRequirements, options) {
        const call = facilitator.settle(paymentPayload, paymentRequirements, options);
        settling.add(call);
        const done = () => settling.delete(call);
        call.then(done, done);
        return call;
      },
    },
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    apiKeys: config.apiKeys,
    corsOrigins: config.corsOrigins,
    rateLimitPerMinute: config.rateLimitPerMinute,
    trustProxy: config.trustProxy,
    logger,
    isStopping: () => stopRequested,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
      resolve(started),
    );
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    facilitator,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        stopRequested = true;
        // Idle connections close now, busy ones as their answers go out (the gate marks each answer).
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // A settle call waiting on a confirmation answers settlement_pending now, instead of holding the stop for up
        // to SETTLE_TIMEOUT_MS. The keeper runs on, renewing this process's lease: another process must not take
        // over the calls still running here.
        facilitator.drain();
        let graceTimer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'over'>((resolve) => {
          graceTimer = setTimeout(() => resolve('over'), graceMs);
        });
        const drained = Promise.all([closed, facilitator.idle()]);
        if ((await Promise.race([drained, graceOver])) === 'over') {
          const open = await new Promise<number>((resolve) =>
            server.getConnections((error, count) => resolve(error ? 0 : count)),
          );
          // Calls still running are cut: one whose payment is not yet sent (waiting for its payer's earlier nonces, or
          // in a chain read before its broadcast) hears its caller hang up and gives its claim back, sending nothing
          // (`settlement_cancelled`); a moment is left for that. A broadcast under way stays in the ledger, as a kill
          // would leave it, for the next start.
          if ('closeAllConnections' in server) server.closeAllConnections();
          await waitAtMost(CUT_CALLS_MS, Promise.allSettled([...settling]));
          if (open > 0) {
            logger.warn(
              { graceMs, connections: open },
              'connections still open at the end of the stop grace were closed: the requests they carried were cut (a payment not yet sent gives its claim back; one being sent stays in the ledger)',
            );
            // Now: a ledger close that hangs ends the process at the deadline, buffered lines unwritten.
            await output.flush(FLUSH_LOG_MS);
          }
        }
        await Promise.race([facilitator.keeper.stop(), graceOver]);
        clearTimeout(graceTimer);
        try {
          await opened.close();
        } finally {
          await output.flush(FLUSH_LOG_MS);
        }
      })();
      return stopping;
    },
  };
}
