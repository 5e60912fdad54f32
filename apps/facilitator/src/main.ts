/**
 * `npm start -w @x402-stacks/facilitator`: the facilitator service, configured from the environment.
 */
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
  const stop = (signal: string) => {
    console.log(`${signal}: stopping (in-flight settlements are kept in the ledger)`);
    void service.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
