/**
 * The registry's configuration, read once from the environment and validated with every problem listed at once.
 * @module
 */

import { TRUST_PROXY_EXPECTED, trustedProxyCount } from '@x402-stacks/service-runtime';
import { redactUrl } from 'x402-stacks/chain';
import { z } from 'zod';
import type { DatabaseTarget } from './store/open.js';

/**
 * The configuration, typed: what {@link loadConfig} returns once every variable is checked.
 * @example
 * ```ts
 * const config: RegistryConfig = loadConfig(process.env);
 * config.database; // { kind: 'sqlite', path: './registry.db' } when DATABASE_URL is unset
 * ```
 */
export type RegistryConfig = {
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseTarget;
  readonly allowInsecureLocal: boolean;
  /** 0 turns the scheduler off. */
  readonly checkIntervalMs: number;
  readonly checkConcurrency: number;
  readonly fetchTimeoutMs: number;
  readonly fetchMaxBodyBytes: number;
  readonly fetchMaxHeaderBytes: number;
  readonly rateLimitPerHour: number;
  /** How many reverse proxies every request passes before this service (`TRUST_PROXY`); 0 trusts none. */
  readonly trustProxy: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly instanceId: string | undefined;
  /** Facilitators whose bazaar discovery lists are imported at start; each resource is still probed. */
  readonly importDiscoveryFrom: readonly string[];
  /** Most resources imported from one facilitator's list. */
  readonly importDiscoveryMax: number;
};

/**
 * Every variable the registry reads, with its default: the README's table is this list.
 * @example
 * ```ts
 * ENVIRONMENT.PORT; // '8090'
 * ```
 */
export const ENVIRONMENT = {
  HOST: '127.0.0.1',
  PORT: '8090',
  DATABASE_URL: 'sqlite:./registry.db',
  ALLOW_INSECURE_LOCAL: 'false',
  CHECK_INTERVAL_MS: '30000',
  CHECK_CONCURRENCY: '4',
  FETCH_TIMEOUT_MS: '10000',
  FETCH_MAX_BODY_BYTES: '262144',
  FETCH_MAX_HEADER_BYTES: '131072',
  RATE_LIMIT_PER_HOUR: '30',
  TRUST_PROXY: 'false',
  LOG_LEVEL: 'info',
  INSTANCE_ID: '',
  IMPORT_DISCOVERY_FROM: '',
  IMPORT_DISCOVERY_MAX: '100',
} as const;

/**
 * What an empty default above stands for, where it is not simply "none": `--help` prints it, as the README's table
 * does.
 * @example
 * ```ts
 * DERIVED_DEFAULTS.INSTANCE_ID; // 'a random UUID'
 * ```
 */
export const DERIVED_DEFAULTS: Partial<Record<keyof typeof ENVIRONMENT, string>> = {
  INSTANCE_ID: 'a random UUID',
};

/**
 * Configuration that cannot start the registry; `problems` lists every one.
 * @example
 * ```ts
 * try { loadConfig(process.env); } catch (error) { if (error instanceof ConfigError) console.error(error.problems); }
 * ```
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly reason = 'invalid_config';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid registry configuration:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  }
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const boolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const Schema = z.object({
  HOST: z.string().min(1),
  PORT: integer(0, 65535),
  DATABASE_URL: z.string().min(1),
  ALLOW_INSECURE_LOCAL: boolean,
  CHECK_INTERVAL_MS: integer(0, 24 * 3_600_000),
  CHECK_CONCURRENCY: integer(1, 64),
  FETCH_TIMEOUT_MS: integer(100, 60_000),
  FETCH_MAX_BODY_BYTES: integer(1024, 16 * 1024 * 1024),
  FETCH_MAX_HEADER_BYTES: integer(8 * 1024, 1024 * 1024),
  RATE_LIMIT_PER_HOUR: integer(1, 1_000_000),
  TRUST_PROXY: z
    .string()
    .refine((setting) => trustedProxyCount(setting) !== undefined, TRUST_PROXY_EXPECTED)
    .transform((setting) => trustedProxyCount(setting)!),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  INSTANCE_ID: z.string().max(100),
  IMPORT_DISCOVERY_FROM: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'expected http(s) URLs' })).max(20)),
  IMPORT_DISCOVERY_MAX: integer(1, 10_000),
});

/**
 * Reads the configuration from an environment.
 * @throws {ConfigError} listing every problem; a database password never appears in it.
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): RegistryConfig {
  const input = Object.fromEntries(
    Object.entries(ENVIRONMENT).map(([key, fallback]) => [key, env[key] ?? fallback]),
  );
  const parsed = Schema.safeParse(input);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  const database = parseDatabaseUrl(input.DATABASE_URL ?? '', problems);
  if (problems.length > 0 || !parsed.success || !database) throw new ConfigError(problems);
  const config = parsed.data;
  return Object.freeze({
    host: config.HOST,
    port: config.PORT,
    database,
    allowInsecureLocal: config.ALLOW_INSECURE_LOCAL,
    checkIntervalMs: config.CHECK_INTERVAL_MS,
    checkConcurrency: config.CHECK_CONCURRENCY,
    fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    fetchMaxBodyBytes: config.FETCH_MAX_BODY_BYTES,
    fetchMaxHeaderBytes: config.FETCH_MAX_HEADER_BYTES,
    rateLimitPerHour: config.RATE_LIMIT_PER_HOUR,
    trustProxy: config.TRUST_PROXY,
    logLevel: config.LOG_LEVEL,
    instanceId: config.INSTANCE_ID || undefined,
    importDiscoveryFrom: config.IMPORT_DISCOVERY_FROM,
    importDiscoveryMax: config.IMPORT_DISCOVERY_MAX,
  });
}

function parseDatabaseUrl(url: string, problems: string[]): DatabaseTarget | undefined {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) problems.push('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./registry.db');
    return path ? { kind: 'sqlite', path } : undefined;
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { kind: 'postgres', url };
  problems.push(`DATABASE_URL: expected sqlite:<path> or postgres://…, got ${redactUrl(url)}`);
  return undefined;
}

/**
 * The database as it may be shown: a path, or the URL with its credentials redacted.
 * @example
 * ```ts
 * describeDatabase({ kind: 'postgres', url: 'postgres://u:secret@db/x402' }); // 'postgres://***@db/x402'
 * ```
 */
export function describeDatabase(database: DatabaseTarget): string {
  return database.kind === 'sqlite' ? `sqlite:${database.path}` : redactUrl(database.url);
}
