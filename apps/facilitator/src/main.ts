/**
 * `npm start -w @x402-stacks/facilitator`: the facilitator service, configured from the environment.
 */
import { ignoreClosedOutput, stopOnSignals } from '@x402-stacks/service-runtime';
import { ConfigError, loadConfig } from './config.js';
import { limitHeapGrowth } from './heap-growth.js';
import { CUT_STOP_LEAVES, startFacilitatorService } from './service.js';

// Its output's reader going away costs the lines, not the service.
ignoreClosedOutput();
try {
  const config = loadConfig(process.env);
  const service = await startFacilitatorService(config);
  limitHeapGrowth(config.heapGrowthPercent);
  // The requests still running get a grace (service.ts), then the ledger closes, which may itself hang (a connection
  // waiting on another session's lock): what a stop cut at the deadline leaves is in the ledger.
  stopOnSignals(
    service,
    { out: console.log, err: console.error },
    {
      stopping: 'stopping (settlements under way are kept in the ledger)',
      leftBehind: CUT_STOP_LEAVES,
    },
  );
  // Only now: a signal that came before its handler was set would kill the process outright, and a supervisor or a
  // test may signal as soon as it reads this line.
  console.log(
    `x402-stacks facilitator on ${service.url} (networks: ${config.networks.join(', ')}; ledger: ${config.database.kind})`,
  );
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
