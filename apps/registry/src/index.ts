/**
 * @x402-stacks/registry: x402scan, the registry and directory of paid Stacks APIs. The CLI's
 * `x402-stacks registry` and `npm start -w @x402-stacks/registry` both start it from here.
 * @module
 */
export { type Clock, systemClock } from './clock.js';
export {
  ConfigError,
  DERIVED_DEFAULTS,
  describeDatabase,
  ENVIRONMENT,
  loadConfig,
  type RegistryConfig,
} from './config.js';
export {
  DOCUMENTED_ERRORS,
  type DocumentedError,
  FINDING_CODES,
  type Finding,
  type FindingCode,
} from './findings.js';
export { type AppEnv, createRegistryApp, type RegistryAppOptions } from './http/app.js';
export { discoveryItem } from './http/discovery.js';
export {
  type DiscoveryImport,
  DiscoveryImportError,
  importDiscoveryList,
} from './import-discovery.js';
export {
  LISTING_STATUSES,
  type ListedAccept,
  type ListingStatus,
  type NormalizedListing,
} from './listing.js';
export {
  type CheckOutcome,
  type Health,
  MONITOR_POLICY,
  type NextHealth,
  nextHealth,
} from './monitor/policy.js';
export {
  classify,
  createScheduler,
  type Scheduler,
  type SchedulerOptions,
} from './monitor/scheduler.js';
export { type AddressVerdict, checkAddress } from './probe/addresses.js';
export {
  createSafeFetcher,
  type Fetcher,
  PROBE_FAILURES,
  ProbeError,
  type ProbeFailure,
  type ProbeRequest,
  type ProbeResponse,
  type Resolver,
  type SafeFetcherOptions,
} from './probe/fetcher.js';
export {
  createRegistry,
  type Registration,
  type Registry,
  type RegistryOptions,
} from './registry.js';
export {
  type RegistryService,
  type RegistryServiceOverrides,
  startRegistryService,
} from './service.js';
export { type DatabaseTarget, type OpenedStore, openRegistryStore } from './store/open.js';
export { migrateRegistry, type RegistryDatabase } from './store/schema.js';
export type { SearchQuery } from './store/search.js';
export { RegistryStore } from './store/store.js';
export type {
  Change,
  CheckRecord,
  CheckResult,
  ListingVersion,
  StoredListing,
  Uptime,
} from './store/types.js';
export { type Validation, validateEndpoint } from './validate/endpoint.js';
