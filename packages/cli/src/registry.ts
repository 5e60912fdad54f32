/**
 * `x402-stacks registry`: the x402scan registry and directory in the foreground. Flags cover where it listens and
 * local development; everything else comes from the environment variables the service documents
 * (apps/registry/README.md).
 * @module
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  describeDatabase,
  ENVIRONMENT,
  loadConfig,
  startRegistryService,
} from '@x402-stacks/registry';
import { EXIT_USAGE, type Io, processIo } from './io.js';

export const REGISTRY_USAGE = `Usage: x402-stacks registry [--port <n>] [--host <address>] [--allow-insecure-local]

Runs x402scan: sellers register paid endpoints (POST /api/v1/resources, or the form at /register), the registry
validates their x402 challenge, lists them in the directory (/), serves the discovery API (/api/v1/resources,
/discovery/resources), and re-checks every listing on a schedule. Ctrl-C stops it.

Options:
  --port <n>               TCP port (default ${ENVIRONMENT.PORT}; 0 picks a free one)
  --host <address>         interface to bind (default ${ENVIRONMENT.HOST})
  --allow-insecure-local   accept http://127.0.0.1 and localhost sellers, for local development only
  -h, --help               show this help

Environment (defaults in parentheses):
${Object.entries(ENVIRONMENT)
  .map(([name, fallback]) => `  ${name.padEnd(24)}(${fallback || 'none'})`)
  .join('\n')}`;

/** Runs the registry until SIGINT or SIGTERM; resolves with the exit code. */
export async function runRegistry(argv: string[], io: Io = processIo): Promise<number> {
  let values: { port?: string; host?: string; 'allow-insecure-local'?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-insecure-local': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`x402-stacks registry: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.out(REGISTRY_USAGE);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({
      ...process.env,
      ...(values.port === undefined ? {} : { PORT: values.port }),
      ...(values.host === undefined ? {} : { HOST: values.host }),
      ...(values['allow-insecure-local'] ? { ALLOW_INSECURE_LOCAL: 'true' } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return EXIT_USAGE;
    }
    throw error;
  }
  const service = await startRegistryService(config);
  if (config.allowInsecureLocal) {
    io.err(
      'WARNING: --allow-insecure-local is on; http:// and loopback sellers can be registered.',
    );
  }
  io.out(
    `x402-stacks registry on ${service.url} (database: ${describeDatabase(config.database)}; directory at ${service.url}/)`,
  );
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await service.stop();
  io.out(`${signal}: stopped`);
  return 0;
}
