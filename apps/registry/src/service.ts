/**
 * The registry as a running service: the store from DATABASE_URL, the safe fetcher, the scheduler, the HTTP app,
 * and a graceful stop.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { logOutput, waitAtMost } from '@x402-stacks/service-runtime';
import pino, { type Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { describeDatabase, type RegistryConfig } from './config.js';
import { createRegistryApp } from './http/app.js';
import { importDiscoveryList } from './import-discovery.js';
import { createScheduler, type Scheduler } from './monitor/scheduler.js';
import { createSafeFetcher, type Fetcher } from './probe/fetcher.js';
import { createRegistry, type Registry } from './registry.js';
import { openRegistryStore } from './store/open.js';
import type { RegistryStore } from './store/store.js';

/**
 * A running registry: where it serves, its parts for in-process use, and a graceful stop.
 * @example
 * ```ts
 * const service: RegistryService = await startRegistryService(loadConfig(process.env));
 * process.once('SIGTERM', () => void service.stop());
 * ```
 */
export type RegistryService = {
  /** Where the directory and the API are served, e.g. `http://127.0.0.1:8090`. */
  readonly url: string;
  /** Registers or validates endpoints in-process (the demo registers its seller this way). */
  readonly registry: Registry;
  readonly store: RegistryStore;
  readonly scheduler: Scheduler;
  /**
   * Stops taking connections, starting check rounds and registering imported resources; waits for the requests under
   * way, the listing each worker of a check round is checking, and (up to 3 s) the registration each import is
   * making; then closes the database.
   */
  stop(): Promise<void>;
};

/**
 * Replacements for tests and embedding: a fake clock, a scripted fetcher, a logger.
 * @example
 * ```ts
 * const service = await startRegistryService(config, { clock: { now: () => now }, logger: pino({ level: 'silent' }) });
 * ```
 */
export type RegistryServiceOverrides = {
  readonly clock?: Clock;
  readonly fetcher?: Fetcher;
  readonly logger?: Logger;
};

/** How long a stop waits for the log's reader to take the lines it holds. */
const FLUSH_LOG_MS = 1_000;

/** How long a stop waits for the registration an import is making. */
const IMPORT_GRACE_MS = 3_000;

/**
 * Starts the registry from a configuration.
 * @example
 * ```ts
 * const service = await startRegistryService(loadConfig({ ...process.env, ALLOW_INSECURE_LOCAL: 'true', PORT: '0' }));
 * await service.registry.register({ url: 'http://127.0.0.1:4021/weather' });
 * console.log(`directory at ${service.url}`);
 * ```
 */
export async function startRegistryService(
  config: RegistryConfig,
  overrides: RegistryServiceOverrides = {},
): Promise<RegistryService> {
  // Each line as it comes, off the event loop; what a stop leaves is written before the process ends.
  const output = logOutput(0);
  const logger =
    overrides.logger ??
    pino({ level: config.logLevel, base: { service: 'x402-registry' } }, output.stream);
  const clock = overrides.clock ?? systemClock;
  if (config.allowInsecureLocal) {
    logger.warn(
      'ALLOW_INSECURE_LOCAL is on: http:// and loopback sellers can be registered. Never run a public registry like this.',
    );
  }
  const opened = await openRegistryStore(config.database);
  const fetcher =
    overrides.fetcher ??
    createSafeFetcher({
      timeoutMs: config.fetchTimeoutMs,
      maxBodyBytes: config.fetchMaxBodyBytes,
      maxHeaderBytes: config.fetchMaxHeaderBytes,
      allowInsecureLocal: config.allowInsecureLocal,
    });
  const registry = createRegistry({
    store: opened.store,
    fetcher,
    clock,
    allowInsecureLocal: config.allowInsecureLocal,
  });
  const scheduler = createScheduler({
    store: opened.store,
    fetcher,
    clock,
    allowInsecureLocal: config.allowInsecureLocal,
    concurrency: config.checkConcurrency,
    logger,
    ...(config.instanceId ? { owner: config.instanceId } : {}),
  });
  const app = createRegistryApp({
    registry,
    store: opened.store,
    clock,
    logger,
    rateLimitPerHour: config.rateLimitPerHour,
    trustProxy: config.trustProxy,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
      resolve(started),
    );
    started.once('error', reject);
  });
  if (config.checkIntervalMs > 0) scheduler.start(config.checkIntervalMs);
  // In the background: a facilitator that is down or lists junk costs a log line, never the start. A stop ends them
  // between two registrations and gives the one under way up to IMPORT_GRACE_MS before the database closes.
  const stopImports = new AbortController();
  const imports = config.importDiscoveryFrom.map((facilitatorUrl) =>
    importDiscoveryList(registry, fetcher, facilitatorUrl, {
      maxResources: config.importDiscoveryMax,
      signal: stopImports.signal,
    }).then(
      (report) =>
        logger.info(
          {
            facilitator: facilitatorUrl,
            read: report.read,
            listed: report.listed.length,
            refused: report.refused,
          },
          'discovery list imported',
        ),
      (error) =>
        logger.warn(
          { facilitator: facilitatorUrl, reason: error?.reason ?? 'import_failed' },
          error instanceof Error ? error.message : String(error),
        ),
    ),
  );
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, database: describeDatabase(config.database) }, 'registry started');
  let stopping: Promise<void> | undefined;
  return {
    url,
    registry,
    store: opened.store,
    scheduler,
    stop() {
      stopping ??= (async () => {
        // Together: while the requests under way end, no new check round or registration of an import may start.
        // An import's registration under way cannot be cut (its probe takes no signal): it gets IMPORT_GRACE_MS, and
        // one still probing then fails against the closed database, with a warning, and stores nothing.
        stopImports.abort();
        await Promise.all([
          new Promise<void>((resolve) => server.close(() => resolve())),
          scheduler.stop(),
          waitAtMost(IMPORT_GRACE_MS, Promise.allSettled(imports)),
        ]);
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
