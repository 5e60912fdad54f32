/** The one way a test file gets its PostgreSQL URL. */
import { after } from 'node:test';
import { findTestPostgres } from './find.js';

/**
 * Set by the test runner (scripts/test.sh through with-postgres.ts) to the PostgreSQL it chose once for the whole run,
 * so the test files share one server instead of each starting its own.
 */
export const RUN_POSTGRES_ENV = 'X402_TEST_POSTGRES_URL';

let chosen: Promise<string> | undefined;

/**
 * The URL of the PostgreSQL this test file runs against: the run's (see {@link RUN_POSTGRES_ENV}), or, when the file
 * runs on its own, the one {@link findTestPostgres} picks; an embedded server started here stops after the file's
 * tests. Call it at the top level of the test file (top-level await), so the closing hook belongs to the file.
 *
 * @example
 * const POSTGRES_URL = await testPostgresUrl();
 */
export function testPostgresUrl(): Promise<string> {
  chosen ??= (async () => {
    const fromRun = process.env[RUN_POSTGRES_ENV];
    if (fromRun) return fromRun;
    const postgres = await findTestPostgres();
    if (postgres.stop) after(postgres.stop);
    // Child processes this file starts (workers, services) inherit the choice instead of starting servers of their own.
    process.env[RUN_POSTGRES_ENV] = postgres.url;
    return postgres.url;
  })();
  return chosen;
}
