/**
 * @x402-stacks/facilitator: the facilitator service. The CLI's `x402-stacks facilitator` and
 * `npm start -w @x402-stacks/facilitator` both start it from here.
 * @module
 */
export { createFacilitatorApp, type FacilitatorApp, type FacilitatorAppOptions } from './app.js';
export {
  ConfigError,
  DERIVED_DEFAULTS,
  ENVIRONMENT,
  type FacilitatorConfig,
  loadConfig,
} from './config.js';
export { type OpenedFacilitator, openFacilitator } from './engine.js';
export { limitHeapGrowth, MAX_HEAP_GROWTH_PERCENT } from './heap-growth.js';
export { openPostgresLedger } from './ledger/postgres.js';
export { type LedgerDatabase, migrateLedger } from './ledger/schema.js';
export { SqlChannelLedger } from './ledger/sql-channel-ledger.js';
export { SqlLedger } from './ledger/sql-ledger.js';
export { openSqliteLedger } from './ledger/sqlite.js';
export { CUT_STOP_LEAVES, type FacilitatorService, startFacilitatorService } from './service.js';
