/**
 * The switch that hides the machine's own services from the tests: with `X402_TEST_FORCE_EMBEDDED=1` the suites ignore
 * `TEST_DATABASE_URL`, `DATABASE_URL`, the PG environment, a PostgreSQL on 127.0.0.1:5432, `CHROMIUM_PATH` and any
 * system Chromium, and use the embedded PostgreSQL and the packaged Chromium instead. CI sets it for a second pass, so
 * the path a fresh machine takes is exercised even on a machine that has both services installed.
 *
 * @example
 * if (forceEmbedded()) console.log('using the npm-shipped PostgreSQL and Chromium');
 */
export function forceEmbedded(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.X402_TEST_FORCE_EMBEDDED === '1';
}
