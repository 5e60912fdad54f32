/**
 * The service's configuration, read once from the environment and validated with every problem listed at once.
 * Defaults point at a local devnet; testnet and mainnet need only the network, the API URL and the key.
 * @module
 */

import { TRUST_PROXY_EXPECTED, trustedProxyCount } from '@x402-stacks/service-runtime';
import { isValidStacksAddress, privateKeyToAccount } from 'x402-stacks';
import { redactUrl } from 'x402-stacks/chain';
import type { SponsorLimits } from 'x402-stacks/facilitator';
import { KNOWN_TOKENS, parsePrincipal, resolveAsset, STACKS_NETWORKS } from 'x402-stacks/stacks';
import { z } from 'zod';
import { MAX_HEAP_GROWTH_PERCENT } from './heap-growth.js';

/**
 * The configuration, typed: what {@link loadConfig} returns once every variable is checked.
 * @example
 * ```ts
 * const config: FacilitatorConfig = loadConfig(process.env);
 * config.networks; // ['testnet'] when NETWORKS is unset
 * ```
 */
export type FacilitatorConfig = {
  readonly host: string;
  readonly port: number;
  readonly networks: readonly ('mainnet' | 'testnet')[];
  readonly apiUrls: { readonly mainnet: string; readonly testnet: string };
  readonly apiKey: string | undefined;
  /** The testnet sBTC contract when it is not the library's default; undefined for the default. */
  readonly sbtcContractTestnet: string | undefined;
  readonly database:
    | { readonly kind: 'sqlite'; readonly path: string }
    | { readonly kind: 'postgres'; readonly url: string; readonly schema: string | undefined };
  readonly sponsorKeys: readonly string[];
  /**
   * batch-settlement: the escrow served per network and the receiver-authorizer key that claims, sweeps and refunds;
   * undefined when no escrow is configured.
   */
  readonly batch:
    | {
        readonly escrows: { readonly testnet?: string; readonly mainnet?: string };
        readonly authorizerKey: string;
        readonly claimMaxAgeMs: number;
      }
    | undefined;
  readonly sponsorMaxFee: bigint;
  readonly sponsorLimits: SponsorLimits;
  readonly sponsorAllowedPayTo: readonly string[];
  readonly sponsorMinBalance: bigint;
  readonly sponsorGapFillDelayMs: number;
  readonly claimLeaseMs: number | undefined;
  readonly keeperIntervalMs: number;
  readonly settleTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** Whether settlement statuses are also read when the API's WebSocket channel pushes a block that holds them. */
  readonly blockEvents: boolean;
  readonly maxBodyBytes: number;
  readonly apiKeys: readonly string[];
  readonly corsOrigins: readonly string[];
  readonly rateLimitPerMinute: number;
  /** How many reverse proxies every request passes before this service (`TRUST_PROXY`); 0 trusts none. */
  readonly trustProxy: number;
  readonly verifyCacheMs: number;
  readonly maxNonceAhead: bigint;
  /** How many settlements may wait at once for their payers' earlier nonces. */
  readonly maxNonceWaits: number;
  /** The `payment-identifier` extension: how long, and how often, a retry under a payment's id gets its outcome. */
  readonly paymentIdWindowMs: number;
  readonly paymentIdMaxReplays: number;
  readonly logLevel: LogLevel;
  /** V8's heap growing factor for the service's process, as a percent over 1 (0: V8's own); see heap-growth.ts. */
  readonly heapGrowthPercent: number;
  /** The bazaar discovery catalog: `false` turns it off; the numbers bound it. */
  readonly discovery:
    | false
    | {
        readonly maxDeclarationBytes: number;
        readonly maxPerPayTo: number;
        readonly maxTotal: number;
        readonly ttlMs: number;
      };
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every variable the service reads, with its default: the README's table is this list.
 * @example
 * ```ts
 * ENVIRONMENT.PORT; // '8085'
 * ```
 */
export const ENVIRONMENT = {
  HOST: '127.0.0.1',
  PORT: '8085',
  NETWORKS: 'testnet',
  STACKS_API_URL_TESTNET: 'http://127.0.0.1:3999',
  STACKS_API_URL_MAINNET: 'https://api.mainnet.hiro.so',
  STACKS_API_KEY: '',
  SBTC_CONTRACT_TESTNET: '',
  DATABASE_URL: 'sqlite:./facilitator.db',
  DATABASE_SCHEMA: '',
  SPONSOR_PRIVATE_KEYS: '',
  BATCH_ESCROW_TESTNET: '',
  BATCH_ESCROW_MAINNET: '',
  BATCH_AUTHORIZER_KEY: '',
  BATCH_CLAIM_MAX_AGE_MS: '600000',
  SPONSOR_MAX_FEE: '100000',
  SPONSOR_MAX_IN_FLIGHT_PER_PAYER: '10',
  SPONSOR_MAX_FAILED_PER_PAYER: '1',
  SPONSOR_MAX_FEES_PER_PAYER: '1000000',
  SPONSOR_MAX_FEES_TOTAL: '100000000',
  SPONSOR_LIMIT_WINDOW_MS: '3600000',
  SPONSOR_ALLOWED_PAY_TO: '',
  SPONSOR_MIN_BALANCE: '1000000',
  SPONSOR_GAP_FILL_DELAY_MS: '10000',
  CLAIM_LEASE_MS: '',
  KEEPER_INTERVAL_MS: '2000',
  SETTLE_TIMEOUT_MS: '60000',
  POLL_INTERVAL_MS: '1000',
  BLOCK_EVENTS: 'true',
  MAX_BODY_BYTES: '65536',
  API_KEYS: '',
  CORS_ORIGINS: '',
  RATE_LIMIT_PER_MINUTE: '6000',
  TRUST_PROXY: 'false',
  VERIFY_CACHE_MS: '2000',
  MAX_NONCE_AHEAD: '25',
  MAX_NONCE_WAITS: '64',
  PAYMENT_ID_WINDOW_MS: '600000',
  PAYMENT_ID_MAX_REPLAYS: '3',
  LOG_LEVEL: 'info',
  HEAP_GROWTH_PERCENT: '30',
  DISCOVERY: 'true',
  DISCOVERY_MAX_DECLARATION_BYTES: '16384',
  DISCOVERY_MAX_PER_PAY_TO: '20',
  DISCOVERY_MAX_TOTAL: '10000',
  DISCOVERY_TTL_MS: '2592000000',
} as const;

/**
 * What an empty default above stands for, where it is not simply "none": `--help` prints it, as the README's table
 * does.
 * @example
 * ```ts
 * DERIVED_DEFAULTS.CLAIM_LEASE_MS; // 'SETTLE_TIMEOUT_MS + 30000'
 * ```
 */
export const DERIVED_DEFAULTS: Partial<Record<keyof typeof ENVIRONMENT, string>> = {
  SBTC_CONTRACT_TESTNET: KNOWN_TOKENS.sBTC.contracts.testnet,
  CLAIM_LEASE_MS: 'SETTLE_TIMEOUT_MS + 30000',
};

/**
 * Configuration that cannot start the service; `problems` lists every one, so a bad environment is fixed in one pass.
 * @example
 * ```ts
 * try { loadConfig({ PORT: 'eighty' }); } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.problems); // ['PORT: expected a whole number']
 * }
 * ```
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly reason = 'invalid_config';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid facilitator configuration:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  }
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const microStx = z
  .string()
  .regex(/^\d+$/, 'expected micro-STX as a whole number')
  .transform(BigInt);

const Schema = z.object({
  HOST: z.string().min(1),
  PORT: integer(0, 65535),
  NETWORKS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['mainnet', 'testnet'])).min(1, 'name at least one of mainnet, testnet')),
  STACKS_API_URL_TESTNET: z.url({ protocol: /^https?$/ }),
  STACKS_API_URL_MAINNET: z.url({ protocol: /^https?$/ }),
  STACKS_API_KEY: z.string(),
  SBTC_CONTRACT_TESTNET: z.string().trim(),
  DATABASE_URL: z.string().min(1),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^([a-z_][a-z0-9_]{0,62})?$/, 'expected a lower-case SQL identifier, such as x402'),
  SPONSOR_PRIVATE_KEYS: z.string(),
  BATCH_ESCROW_TESTNET: z.string().trim(),
  BATCH_ESCROW_MAINNET: z.string().trim(),
  BATCH_AUTHORIZER_KEY: z.string().trim(),
  BATCH_CLAIM_MAX_AGE_MS: integer(0, 30 * 24 * 3_600_000),
  SPONSOR_MAX_FEE: microStx,
  SPONSOR_MAX_IN_FLIGHT_PER_PAYER: integer(0, 1_000_000),
  SPONSOR_MAX_FAILED_PER_PAYER: integer(0, 1_000_000),
  SPONSOR_MAX_FEES_PER_PAYER: microStx,
  SPONSOR_MAX_FEES_TOTAL: microStx,
  SPONSOR_LIMIT_WINDOW_MS: integer(1_000, 30 * 24 * 3_600_000),
  SPONSOR_ALLOWED_PAY_TO: z.string(),
  SPONSOR_MIN_BALANCE: microStx,
  SPONSOR_GAP_FILL_DELAY_MS: integer(0, 10 * 60_000),
  CLAIM_LEASE_MS: z.union([z.literal(''), integer(1_000, 60 * 60_000)]),
  KEEPER_INTERVAL_MS: integer(100, 10 * 60_000),
  SETTLE_TIMEOUT_MS: integer(100, 10 * 60_000),
  POLL_INTERVAL_MS: integer(10, 60_000),
  BLOCK_EVENTS: z.enum(['true', 'false'], 'expected true or false').transform((v) => v === 'true'),
  MAX_BODY_BYTES: integer(1024, 10 * 1024 * 1024),
  API_KEYS: z.string(),
  CORS_ORIGINS: z.string(),
  RATE_LIMIT_PER_MINUTE: integer(0, 10_000_000),
  TRUST_PROXY: z
    .string()
    .refine((setting) => trustedProxyCount(setting) !== undefined, TRUST_PROXY_EXPECTED)
    .transform((setting) => trustedProxyCount(setting)!),
  VERIFY_CACHE_MS: integer(0, 60_000),
  MAX_NONCE_AHEAD: integer(0, 25).transform(BigInt),
  MAX_NONCE_WAITS: integer(0, 100_000),
  PAYMENT_ID_WINDOW_MS: integer(1_000, 24 * 60 * 60_000),
  PAYMENT_ID_MAX_REPLAYS: integer(0, 100),
  LOG_LEVEL: z.enum(LOG_LEVELS, `expected one of ${LOG_LEVELS.join(', ')}`),
  HEAP_GROWTH_PERCENT: integer(0, MAX_HEAP_GROWTH_PERCENT),
  DISCOVERY: z.enum(['true', 'false'], 'expected true or false').transform((v) => v === 'true'),
  DISCOVERY_MAX_DECLARATION_BYTES: integer(256, 1024 * 1024),
  DISCOVERY_MAX_PER_PAY_TO: integer(1, 100_000),
  DISCOVERY_MAX_TOTAL: integer(1, 10_000_000),
  DISCOVERY_TTL_MS: integer(60_000, 365 * 24 * 3_600_000),
});

/**
 * Reads the configuration from an environment.
 * @throws {ConfigError} listing every problem; secrets (keys, database passwords) never appear in it.
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): FacilitatorConfig {
  const input = Object.fromEntries(
    Object.entries(ENVIRONMENT).map(([key, fallback]) => [key, env[key] ?? fallback]),
  );
  const parsed = Schema.safeParse(input);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);

  const database = parseDatabaseUrl(
    input.DATABASE_URL ?? '',
    input.DATABASE_SCHEMA || undefined,
    problems,
  );
  const sponsorKeys = (input.SPONSOR_PRIVATE_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
  sponsorKeys.forEach((key, index) => {
    try {
      privateKeyToAccount(key, 'testnet');
    } catch {
      // The key itself is never repeated in the message.
      problems.push(`SPONSOR_PRIVATE_KEYS: key #${index + 1} is not a valid private key`);
    }
  });
  const batch = parseBatch(input, problems);
  const allowedPayTo = list(input.SPONSOR_ALLOWED_PAY_TO ?? '');
  for (const payTo of allowedPayTo) {
    if (!isValidStacksAddress(payTo.split('.')[0]))
      problems.push(`SPONSOR_ALLOWED_PAY_TO: ${payTo} is not a Stacks address`);
  }
  const sbtcContractTestnet = (input.SBTC_CONTRACT_TESTNET ?? '').trim() || undefined;
  if (sbtcContractTestnet !== undefined && !isTestnetContract(sbtcContractTestnet)) {
    problems.push(
      `SBTC_CONTRACT_TESTNET: ${sbtcContractTestnet} is not a testnet contract id (<ST… or SN… address>.<name>)`,
    );
  }
  if (
    parsed.success &&
    parsed.data.CLAIM_LEASE_MS !== '' &&
    parsed.data.CLAIM_LEASE_MS < parsed.data.SETTLE_TIMEOUT_MS
  ) {
    problems.push('CLAIM_LEASE_MS: expected at least SETTLE_TIMEOUT_MS');
  }
  if (problems.length > 0 || !parsed.success || !database) throw new ConfigError(problems);
  const config = parsed.data;
  return Object.freeze({
    host: config.HOST,
    port: config.PORT,
    networks: config.NETWORKS,
    apiUrls: { mainnet: config.STACKS_API_URL_MAINNET, testnet: config.STACKS_API_URL_TESTNET },
    apiKey: config.STACKS_API_KEY || undefined,
    sbtcContractTestnet,
    database,
    sponsorKeys,
    batch: batch && { ...batch, claimMaxAgeMs: config.BATCH_CLAIM_MAX_AGE_MS },
    sponsorMaxFee: config.SPONSOR_MAX_FEE,
    sponsorLimits: {
      maxInFlightPerPayer: config.SPONSOR_MAX_IN_FLIGHT_PER_PAYER,
      maxFailedPerPayer: config.SPONSOR_MAX_FAILED_PER_PAYER,
      maxFeesPerPayer: config.SPONSOR_MAX_FEES_PER_PAYER,
      maxFeesTotal: config.SPONSOR_MAX_FEES_TOTAL,
      windowMs: config.SPONSOR_LIMIT_WINDOW_MS,
    },
    sponsorAllowedPayTo: allowedPayTo,
    sponsorMinBalance: config.SPONSOR_MIN_BALANCE,
    sponsorGapFillDelayMs: config.SPONSOR_GAP_FILL_DELAY_MS,
    claimLeaseMs: config.CLAIM_LEASE_MS === '' ? undefined : config.CLAIM_LEASE_MS,
    keeperIntervalMs: config.KEEPER_INTERVAL_MS,
    settleTimeoutMs: config.SETTLE_TIMEOUT_MS,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    blockEvents: config.BLOCK_EVENTS,
    maxBodyBytes: config.MAX_BODY_BYTES,
    apiKeys: list(config.API_KEYS),
    corsOrigins: list(config.CORS_ORIGINS),
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    trustProxy: config.TRUST_PROXY,
    verifyCacheMs: config.VERIFY_CACHE_MS,
    maxNonceAhead: config.MAX_NONCE_AHEAD,
    maxNonceWaits: config.MAX_NONCE_WAITS,
    paymentIdWindowMs: config.PAYMENT_ID_WINDOW_MS,
    paymentIdMaxReplays: config.PAYMENT_ID_MAX_REPLAYS,
    logLevel: config.LOG_LEVEL,
    heapGrowthPercent: config.HEAP_GROWTH_PERCENT,
    discovery: config.DISCOVERY
      ? {
          maxDeclarationBytes: config.DISCOVERY_MAX_DECLARATION_BYTES,
          maxPerPayTo: config.DISCOVERY_MAX_PER_PAY_TO,
          maxTotal: config.DISCOVERY_MAX_TOTAL,
          ttlMs: config.DISCOVERY_TTL_MS,
        }
      : false,
  });
}

function parseDatabaseUrl(
  url: string,
  schema: string | undefined,
  problems: string[],
): FacilitatorConfig['database'] | undefined {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path)
      problems.push('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./facilitator.db');
    return path ? { kind: 'sqlite', path } : undefined;
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { kind: 'postgres', url, schema };
  problems.push(`DATABASE_URL: expected sqlite:<path> or postgres://…, got ${redactUrl(url)}`);
  return undefined;
}

/** The batch-settlement settings, or undefined when no escrow is named; a problem for each inconsistency. */
function parseBatch(
  input: Record<string, string | undefined>,
  problems: string[],
): { escrows: { testnet?: string; mainnet?: string }; authorizerKey: string } | undefined {
  const escrows: { testnet?: string; mainnet?: string } = {};
  for (const network of ['testnet', 'mainnet'] as const) {
    const name = `BATCH_ESCROW_${network.toUpperCase()}`;
    const id = (input[name] ?? '').trim();
    if (!id) continue;
    try {
      const parsed = parsePrincipal(id, STACKS_NETWORKS[network]);
      if (parsed.contractName === undefined) throw new Error('not a contract');
      escrows[network] = id;
    } catch {
      problems.push(`${name}: ${id} is not a ${network} contract id (<address>.<name>)`);
    }
  }
  const authorizerKey = (input.BATCH_AUTHORIZER_KEY ?? '').trim();
  const named =
    Object.keys(escrows).length > 0 ||
    (input.BATCH_ESCROW_TESTNET ?? '').trim() !== '' ||
    (input.BATCH_ESCROW_MAINNET ?? '').trim() !== '';
  if (!named) {
    if (authorizerKey)
      problems.push(
        'BATCH_AUTHORIZER_KEY: set, but no BATCH_ESCROW_TESTNET or BATCH_ESCROW_MAINNET',
      );
    return undefined;
  }
  if (!authorizerKey) {
    problems.push(
      'BATCH_AUTHORIZER_KEY: required with a batch escrow (it sends claims, settles and refunds)',
    );
    return undefined;
  }
  try {
    privateKeyToAccount(authorizerKey, 'testnet');
  } catch {
    // The key itself is never repeated in the message.
    problems.push('BATCH_AUTHORIZER_KEY: not a valid private key');
    return undefined;
  }
  return { escrows, authorizerKey };
}

function isTestnetContract(id: string): boolean {
  if (!id.includes('.') || id.includes('::')) return false;
  try {
    return resolveAsset(id, 'testnet').kind === 'sip010';
  } catch {
    return false;
  }
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
