/**
 * `x402-stacks facilitator`: the facilitator service in the foreground. Flags cover where it listens; everything
 * else comes from the environment variables the service documents (apps/facilitator/README.md).
 * @module
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  ENVIRONMENT,
  loadConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import { EXIT_USAGE, type Io, processIo } from './io.js';

export const FACILITATOR_USAGE = `Usage: x402-stacks facilitator [--port <n>] [--host <address>]

Verifies and settles Stacks payments over HTTP (POST /verify, POST /settle, GET /settlements/:txid,
GET /supported, GET /health). Ctrl-C stops it; settlements in flight stay in the ledger and resume at the next start.

Options:
  --port <n>          TCP port (default ${ENVIRONMENT.PORT}; 0 picks a free one)
  --host <address>    interface to bind (default ${ENVIRONMENT.HOST})
  -h, --help          show this help

Environment (defaults in parentheses):
${Object.entries(ENVIRONMENT)
  .map(([name, fallback]) => `  ${name.padEnd(24)}(${fallback || 'none'})`)
  .join('\n')}`;

/** Runs the service until SIGINT or SIGTERM; resolves with the exit code. */
export async function runFacilitator(argv: string[], io: Io = processIo): Promise<number> {
  let values: { port?: string; host?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`x402-stacks facilitator: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.out(FACILITATOR_USAGE);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({
      ...process.env,
      ...(values.port === undefined ? {} : { PORT: values.port }),
      ...(values.host === undefined ? {} : { HOST: values.host }),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return EXIT_USAGE;
    }
    throw error;
  }
  const service = await startFacilitatorService(config);
  io.out(
    `x402-stacks facilitator on ${service.url} (networks: ${config.networks.join(', ')}; ledger: ${config.database.kind})`,
  );
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await service.stop();
  io.out(`${signal}: stopped; unfinished settlements are kept in the ledger`);
  return 0;
}
