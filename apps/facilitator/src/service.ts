/**
 * The facilitator as a running service: the ledger from DATABASE_URL, the engine, unfinished settlements resumed,
 * the routes served, and a graceful stop.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Logger, pino } from 'pino';
import { createFacilitator, type Facilitator } from 'x402-stacks';
import { batchSettlementFacilitator } from 'x402-stacks/batch';
import { createFacilitatorApp } from './app.js';
import type { FacilitatorConfig } from './config.js';
import { SqlDiscoveryCatalog } from './ledger/discovery-catalog.js';
import { openPostgresLedger } from './ledger/postgres.js';
import { openSqliteLedger } from './ledger/sqlite.js';

/** A running facilitator service. */
export type FacilitatorService = {
  readonly url: string;
  readonly facilitator: Facilitator;
  /** Stops accepting requests, lets in-flight settles finish (at most `graceMs`), then closes the ledger. */
  stop(graceMs?: number): Promise<void>;
};

/**
 * Starts the service from a configuration.
 * @example
 * ```ts
 * const service = await startFacilitatorService(loadConfig(process.env));
 * process.on('SIGTERM', () => service.stop());
 * ```
 */
export async function startFacilitatorService(
  config: FacilitatorConfig,
): Promise<FacilitatorService> {
  const opened =
    config.database.kind === 'sqlite'
      ? await openSqliteLedger({ path: config.database.path })
      : await openPostgresLedger({
          connectionString: config.database.url,
          ...(config.database.schema ? { schema: config.database.schema } : {}),
        });
  // Set once the logger exists; a refusal can only come from a settle, after the service started.
  let discoveryLog: Pick<Logger, 'info'> = { info: () => undefined };
  const facilitator = createFacilitator({
    networks: Object.fromEntries(
      config.networks.map((name) => [
        name,
        { url: config.apiUrls[name], ...(config.apiKey ? { apiKey: config.apiKey } : {}) },
      ]),
    ),
    ledger: opened.ledger,
    ...(config.batch
      ? {
          schemes: [
            batchSettlementFacilitator({
              escrows: config.batch.escrows,
              authorizerKey: config.batch.authorizerKey,
              channels: opened.channels,
              claims: { maxAgeMs: config.batch.claimMaxAgeMs },
            }),
          ],
        }
      : {}),
    settleTimeoutMs: config.settleTimeoutMs,
    pollIntervalMs: config.pollIntervalMs,
    verifyCacheMs: config.verifyCacheMs,
    maxNonceAhead: config.maxNonceAhead,
    paymentIdentifier: {
      windowMs: config.paymentIdWindowMs,
      maxReplays: config.paymentIdMaxReplays,
    },
    // Only testnet sBTC is contested; the override applies on testnet and leaves mainnet sBTC as it is.
    ...(config.sbtcContractTestnet
      ? { tokens: { contracts: { sBTC: config.sbtcContractTestnet as `${string}.${string}` } } }
      : {}),
    ...(config.claimLeaseMs === undefined ? {} : { claimLeaseMs: config.claimLeaseMs }),
    keeper: { intervalMs: config.keeperIntervalMs },
    discovery:
      config.discovery === false
        ? false
        : {
            ...config.discovery,
            catalog: new SqlDiscoveryCatalog(opened.db, config.database.kind),
            onRefused: (refusal) =>
              discoveryLog.info({ ...refusal }, 'bazaar declaration not listed'),
          },
    ...(config.sponsorKeys.length > 0
      ? {
          sponsor: {
            privateKeys: config.sponsorKeys,
            maxFee: config.sponsorMaxFee,
            limits: config.sponsorLimits,
            minBalance: config.sponsorMinBalance,
            gapFillDelayMs: config.sponsorGapFillDelayMs,
            ...(config.sponsorAllowedPayTo.length > 0
              ? { allowedPayTo: config.sponsorAllowedPayTo }
              : {}),
          },
        }
      : {}),
  });
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
