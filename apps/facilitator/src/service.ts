/**
 * The facilitator as a running service: the engine over its ledger (`engine.ts`), unfinished settlements resumed,
 * the keeper started, the routes served, and a graceful stop.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Logger, pino } from 'pino';
import type { Facilitator } from 'x402-stacks';
import { createFacilitatorApp } from './app.js';
import type { FacilitatorConfig } from './config.js';
import { openFacilitator } from './engine.js';

/** A running facilitator service. */
export type FacilitatorService = {
  readonly url: string;
  readonly facilitator: Facilitator;
  /** Stops accepting requests, lets in-flight settles finish (at most `graceMs`), then closes the ledger. */
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
  const opened = await openFacilitator(config, {
    onDiscoveryRefused: (refusal) =>
      discoveryLog.info({ ...refusal }, 'bazaar declaration not listed'),
  });
  const { facilitator } = opened;
  await facilitator.resume();
  // For the life of the service: abandoned claims, lost broadcasts and sponsor nonce gaps are repaired while it runs,
  // not only at the next start.
  facilitator.keeper.start();
  void facilitator.keeper.runOnce().catch(() => undefined);
  // Buffered and flushed at stop: a write(2) per request line cost about a fifth of a /verify. A crash loses at most
  // the last 4 KiB of request lines; the ledger, not the log, is the record of payments.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino(
    { level: config.logLevel, base: { service: 'x402-stacks-facilitator' } },
    destination,
  );
  discoveryLog = logger;
  const app = createFacilitatorApp({
    facilitator,
    maxBodyBytes: config.maxBodyBytes,
    apiKeys: config.apiKeys,
    corsOrigins: config.corsOrigins,
    rateLimitPerMinute: config.rateLimitPerMinute,
    trustProxy: config.trustProxy,
    logger,
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
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await facilitator.keeper.stop();
        // Settlements still tracking are persisted as broadcast; the next start resumes them.
        await Promise.race([
          facilitator.idle(),
          new Promise((r) => setTimeout(r, graceMs).unref()),
        ]);
        await opened.close();
        destination.flushSync();
      })();
      return stopping;
    },
  };
}
