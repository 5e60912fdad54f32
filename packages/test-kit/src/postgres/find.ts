/** Picks the PostgreSQL the tests run against, starting an embedded one when the machine offers none. */
import pg from 'pg';
import { forceEmbedded } from '../switches.js';
import { configuredPostgresUrl } from './configured.js';
import { startEmbeddedPostgres } from './embedded.js';

/** The PostgreSQL the suites were written against: this machine's, trust auth, database `test`. */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** A PostgreSQL for the tests, where it came from, and (for an embedded one) how to remove it. */
export type TestPostgres = {
  url: string;
  source: 'environment' | 'local' | 'embedded';
  /** Present only when this call started the server. */
  stop?: () => Promise<void>;
};

/**
 * The environment's PostgreSQL if one is named, else one answering on 127.0.0.1:5432 (user postgres, database test),
 * else a fresh embedded server. `X402_TEST_FORCE_EMBEDDED=1` skips straight to the embedded server.
 *
 * @example
 * const postgres = await findTestPostgres();
 * try { await useDatabase(postgres.url); } finally { await postgres.stop?.(); }
 */
export async function findTestPostgres(
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestPostgres> {
  if (!forceEmbedded(env)) {
    const configured = configuredPostgresUrl(env);
    if (configured) return { url: configured, source: 'environment' };
    if (await answers(LOCAL_POSTGRES_URL)) return { url: LOCAL_POSTGRES_URL, source: 'local' };
  }
  const server = await startEmbeddedPostgres();
  return { url: server.url, source: 'embedded', stop: server.stop };
}

/** Whether a server at `url` accepts a connection and a query within a few seconds. */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  // A refused or dropped connection is an answer of "no", not a crash of the test process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
