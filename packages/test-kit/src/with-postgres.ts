/**
 * Runs a command with one PostgreSQL chosen for all of it: `tsx with-postgres.ts <command> [args…]`. The choice
 * (environment, 127.0.0.1:5432, or an embedded server started here) reaches the command as X402_TEST_POSTGRES_URL; an
 * embedded server is stopped and its data removed when the command ends. scripts/test.sh runs the test runner this way,
 * so a full `npm test` starts at most one server.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { findTestPostgres } from './postgres/find.js';
import { RUN_POSTGRES_ENV } from './postgres/for-tests.js';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: with-postgres.ts <command> [args…]');
  process.exit(2);
}

const postgres = await findTestPostgres();
const where = new URL(postgres.url);
// Host, port and database only: a URL from the environment may carry a password.
console.error(
  `PostgreSQL for this run: ${postgres.source} (${where.host || 'socket'}${where.pathname})`,
);

const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, [RUN_POSTGRES_ENV]: postgres.url },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => child.kill(signal));
}
const code = await new Promise<number>((resolve) => {
  child.on('exit', (exitCode, signal) =>
    resolve(exitCode ?? 128 + (signal ? constants.signals[signal] : 0)),
  );
  child.on('error', (error) => {
    console.error(`could not run ${command}: ${error.message}`);
    resolve(127);
  });
});
await postgres.stop?.();
process.exit(code);
