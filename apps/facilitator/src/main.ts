/**
 * `npm start -w @x402-stacks/facilitator`: the facilitator service, configured from the environment.
 */
import { stopWithin } from '@x402-stacks/service-runtime';
import { ConfigError, loadConfig } from './config.js';
import { limitHeapGrowth } from './heap-growth.js';
import { startFacilitatorService } from './service.js';

try {
  const config = loadConfig(process.env);
  const service = await startFacilitatorService(config);
  limitHeapGrowth(config.heapGrowthPercent);
  console.log(
    `x402-stacks facilitator on ${service.url} (networks: ${config.networks.join(', ')}; ledger: ${config.database.kind})`,
  );
  const stop = async (signal: string) => {
    console.log(`${signal}: stopping (settlements under way are kept in the ledger)`);
    // The requests still running get a grace (service.ts), then the ledger closes, which may itself hang (a connection
    // waiting on another session's lock): what a stop cut at the deadline leaves is in the ledger.
    const lines = { out: console.log, err: console.error };
    process.exit(
      await stopWithin(service, signal, lines, {
        leftBehind: 'unfinished settlements stay in the ledger, and the next start resumes them',
      }),
    );
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
