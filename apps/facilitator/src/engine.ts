/**
 * The facilitator engine as the service configures it: the ledger from DATABASE_URL opened, and the engine made over
 * it with every option the configuration names. Nothing runs yet: no keeper, no resumed settlements, no routes; the
 * service (`service.ts`) starts those. A second process that only needs the engine on the same ledger (a tool, a
 * benchmark) opens it here, so it is configured exactly as the service is.
 * @module
 */
import { createFacilitator, type Facilitator } from 'x402-stacks';
import { batchSettlementFacilitator } from 'x402-stacks/batch';
import type { DiscoveryRefusal, SettleStepObserver } from 'x402-stacks/facilitator';
import type { FacilitatorConfig } from './config.js';
import { SqlDiscoveryCatalog } from './ledger/discovery-catalog.js';
import { openPostgresLedger } from './ledger/postgres.js';
import { openSqliteLedger } from './ledger/sqlite.js';

/**
 * An engine over its opened ledger, and the one way to close that ledger.
 * @example
 * ```ts
 * const opened: OpenedFacilitator = await openFacilitator(config);
 * await opened.close();
 * ```
 */
export type OpenedFacilitator = {
  readonly facilitator: Facilitator;
  /** Closes the ledger; stop whatever runs on the engine first. */
  close(): Promise<void>;
};

/**
 * Opens the configured ledger and makes the engine over it, without starting anything.
 * @param hooks.onDiscoveryRefused hears of each bazaar declaration not listed (the service logs it).
 * @param hooks.onSettleStep hears how long each step of a settlement took (the service's `/metrics`).
 * @example
 * ```ts
 * const { facilitator, close } = await openFacilitator(loadConfig(process.env));
 * const answer = await facilitator.verify(paymentPayload, paymentRequirements);
 * await close();
 * ```
 */
export async function openFacilitator(
  config: FacilitatorConfig,
  hooks: {
    onDiscoveryRefused?: (refusal: DiscoveryRefusal) => void;
    onSettleStep?: SettleStepObserver;
  } = {},
): Promise<OpenedFacilitator> {
  const opened =
    config.database.kind === 'sqlite'
      ? await openSqliteLedger({ path: config.database.path })
      : await openPostgresLedger({
          connectionString: config.database.url,
          ...(config.database.schema ? { schema: config.database.schema } : {}),
        });
  const facilitator = createFacilitator({
    networks: Object.fromEntries(
      config.networks.map((name) => [
        name,
        {
          url: config.apiUrls[name],
          ...(config.apiKey ? { apiKey: config.apiKey } : {}),
          blockEvents: config.blockEvents,
        },
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
    maxNonceWaits: config.maxNonceWaits,
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
    ...(hooks.onSettleStep ? { onSettleStep: hooks.onSettleStep } : {}),
    discovery:
      config.discovery === false
        ? false
        : {
            ...config.discovery,
            catalog: new SqlDiscoveryCatalog(opened.db, config.database.kind),
            onRefused: (refusal) => hooks.onDiscoveryRefused?.(refusal),
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
  return { facilitator, close: () => opened.close() };
}
