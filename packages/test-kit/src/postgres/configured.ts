/** A PostgreSQL the person running the tests named through the environment, if any. */

/**
 * The URL from `TEST_DATABASE_URL`, else `DATABASE_URL`, else one built from the libpq variables (`PGHOST`, `PGPORT`,
 * `PGUSER`, `PGPASSWORD`, `PGDATABASE`) when any of them is set; undefined when none is.
 *
 * @example
 * configuredPostgresUrl({ PGHOST: 'db', PGDATABASE: 'ci' }); // 'postgres://postgres@db:5432/ci'
 */
export function configuredPostgresUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.TEST_DATABASE_URL) return env.TEST_DATABASE_URL;
  if (env.DATABASE_URL?.startsWith('postgres')) return env.DATABASE_URL;
  const { PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE } = env;
  if (!PGHOST && !PGPORT && !PGUSER && !PGPASSWORD && !PGDATABASE) return undefined;
  const user = encodeURIComponent(PGUSER ?? 'postgres');
  const auth = PGPASSWORD ? `${user}:${encodeURIComponent(PGPASSWORD)}` : user;
  const database = encodeURIComponent(PGDATABASE ?? 'test');
  const host = PGHOST ?? '127.0.0.1';
  const port = PGPORT ?? '5432';
  // A PGHOST that is a path names the folder of a Unix socket, which a URL can only carry as a query parameter.
  if (host.startsWith('/')) {
    return `postgres://${auth}@/${database}?host=${encodeURIComponent(host)}&port=${port}`;
  }
  return `postgres://${auth}@${host}:${port}/${database}`;
}
