/**
 * `x402-stacks registry`: the x402scan registry and directory in the foreground. Flags cover where it listens and
 * local development; everything else comes from the environment variables the service documents
 * (apps/registry/README.md).
 * @module
 */
import {
  ConfigError,
  DERIVED_DEFAULTS,
  describeDatabase,
  ENVIRONMENT,
  loadConfig,
  startRegistryService,
} from '@x402-stacks/registry';
import { type Io, processIo } from './io.js';
import { environmentHelp, runServiceCommand } from './service-command.js';

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
${environmentHelp(ENVIRONMENT, DERIVED_DEFAULTS)}`;

/** Runs the registry until SIGINT or SIGTERM; resolves with the exit code. */
export function runRegistry(argv: string[], io: Io = processIo): Promise<number> {
  return runServiceCommand(argv, io, {
    name: 'registry',
    usage: REGISTRY_USAGE,
    switches: { 'allow-insecure-local': 'ALLOW_INSECURE_LOCAL' },
    load: loadConfig,
    configError: ConfigError,
    start: (config) => startRegistryService(config),
    started: (service, config, out) => {
      if (config.allowInsecureLocal) {
        out.err(
          'WARNING: --allow-insecure-local is on; http:// and loopback sellers can be registered.',
        );
      }
      out.out(
        `x402-stacks registry on ${service.url} (database: ${describeDatabase(config.database)}; directory at ${service.url}/)`,
      );
    },
    stopped: 'stopped',
  });
}
