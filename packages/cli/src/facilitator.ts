/**
 * `x402-stacks facilitator`: the facilitator service in the foreground. Flags cover where it listens; everything
 * else comes from the environment variables the service documents (apps/facilitator/README.md).
 * @module
 */
import {
  ConfigError,
  CUT_STOP_LEAVES,
  DERIVED_DEFAULTS,
  ENVIRONMENT,
  limitHeapGrowth,
  loadConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import { type Io, processIo } from './io.js';
import { environmentHelp, runServiceCommand } from './service-command.js';

export const FACILITATOR_USAGE = `Usage: x402-stacks facilitator [--port <n>] [--host <address>]

Verifies and settles Stacks payments over HTTP (POST /verify, POST /settle, GET /settlements/:txid,
GET /supported, GET /discovery/resources, GET /health, GET /metrics; x402 v1 and x402-stacks 1.x bodies on
POST /api/v1/verify and POST /api/v1/settle). Ctrl-C stops it; settlements in flight stay in the ledger and resume
at the next start.

Options:
  --port <n>          TCP port (default ${ENVIRONMENT.PORT}; 0 picks a free one)
  --host <address>    interface to bind (default ${ENVIRONMENT.HOST})
  -h, --help          show this help

Environment (defaults in parentheses):
${environmentHelp(ENVIRONMENT, DERIVED_DEFAULTS)}`;

/** Runs the service until SIGINT or SIGTERM; resolves with the exit code. */
export function runFacilitator(argv: string[], io: Io = processIo): Promise<number> {
  return runServiceCommand(argv, io, {
    name: 'facilitator',
    usage: FACILITATOR_USAGE,
    load: loadConfig,
    configError: ConfigError,
    // This command owns its process, as `node apps/facilitator/dist/main.js` does.
    start: async (config) => {
      const service = await startFacilitatorService(config);
      limitHeapGrowth(config.heapGrowthPercent);
      return service;
    },
    started: (service, config, out) =>
      out.out(
        `x402-stacks facilitator on ${service.url} (networks: ${config.networks.join(', ')}; ledger: ${config.database.kind})`,
      ),
    stopped: 'stopped; unfinished settlements are kept in the ledger',
    leftBehind: CUT_STOP_LEAVES,
  });
}
