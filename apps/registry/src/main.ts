/**
 * `npm start -w @x402-stacks/registry`: the registry, configured from the environment.
 */
import { stopWithin } from '@x402-stacks/service-runtime';
import { ConfigError, describeDatabase, loadConfig } from './config.js';
import { startRegistryService } from './service.js';

try {
  const config = loadConfig(process.env);
  const service = await startRegistryService(config);
  console.log(
    `x402-stacks registry on ${service.url} (database: ${describeDatabase(config.database)})`,
  );
  const stop = async (signal: string) => {
    console.log(`${signal}: stopping`);
    // A request or the monitor's probe may hang, and so may the database's close (a connection waiting on a lock).
    // Listings and findings are written as they come: a stop cut at the deadline loses nothing the next start needs.
    process.exit(await stopWithin(service, signal, { out: console.log, err: console.error }));
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
