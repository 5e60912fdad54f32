/**
 * `npm start -w @x402-stacks/facilitator`: the facilitator service, configured from the environment.
 */
import { ConfigError, loadConfig } from './config.js';
import { limitHeapGrowth } from './heap-growth.js';
import { startFacilitatorService } from './service.js';

/** How long after SIGINT or SIGTERM the process ends, whatever is still running. */
const STOP_DEADLINE_MS = 15_000;

try {
  const config = loadConfig(process.env);
  const service = await startFacilitatorService(config);
  limitHeapGrowth(config.heapGrowthPercent);
  console.log(
    `x402-stacks facilitator on ${service.url} (networks: ${config.networks.join(', ')}; ledger: ${config.database.kind})`,
  );
  const stop = (signal: string) => {
    console.log(`${signal}: stopping (settlements under way are kept in the ledger)`);
    // A stop gives the requests still running a grace (service.ts) and then closes the ledger, which may itself hang
    // (a connection waiting on another session's lock). It must not outlast a supervisor's patience: what it leaves is
    // in the ledger.
    setTimeout(() => {
      console.error(
        `${signal}: still stopping after ${STOP_DEADLINE_MS / 1_000} s; exiting (unfinished settlements stay in the ledger, and the next start resumes them)`,
      );
      process.exit(1);
    }, STOP_DEADLINE_MS);
    void service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        // Its code or name only: a driver's message may quote a connection string.
        const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
        console.error(`${signal}: stop failed (${String(code ?? name ?? 'error')}); exiting`);
        process.exit(1);
      },
    );
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
