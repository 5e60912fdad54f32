/**
 * Test-only helpers shared by every suite in the workspace: the PostgreSQL and the headless Chromium the tests run
 * against, and the switch that forces the npm-shipped ones. Never a runtime dependency of a published package.
 */
export { findTestChromium, launchTestChromium, type TestChromium } from './chromium.js';
export { fuzzRuns } from './fuzz.js';
export { importCycles } from './import-cycles.js';
export { configuredPostgresUrl } from './postgres/configured.js';
export { type EmbeddedPostgresServer, startEmbeddedPostgres } from './postgres/embedded.js';
export { endServerConnection } from './postgres/end-connection.js';
export { findTestPostgres, LOCAL_POSTGRES_URL, type TestPostgres } from './postgres/find.js';
export { RUN_POSTGRES_ENV, testPostgresUrl } from './postgres/for-tests.js';
export { inSchema } from './postgres/in-schema.js';
export { type RunningProcess, startProcess } from './process.js';
export { type StoppedAtReady, stopAtReadyLine } from './ready-signals.js';
export { forceEmbedded } from './switches.js';
export { until } from './until.js';
