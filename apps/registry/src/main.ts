/**
 * `npm start -w @x402-stacks/registry`: the registry, configured from the environment.
 */
import { ignoreClosedOutput, stopOnSignals } from '@x402-stacks/service-runtime';
import { ConfigError, describeDatabase, loadConfig } from './config.js';
import { startRegistryService } from './service.js';

// Its output's reader going away costs the lines, not the service.
ignoreClosedOutput();
try {
  const config = loadConfig(process.env);
  const service = await startRegistryService(config);
  // A request or a check's probe may hang, and so may the database's close (a connection waiting on a lock). Listings
  // and findings are written as they come: a stop cut at the deadline loses nothing the next start needs.
  stopOnSignals(service, { out: console.log, err: console.error }, { stopping: 'stopping' });
  // Only now: a signal that came before its handler was set would kill the process outright, and a supervisor or a
  // test may signal as soon as it reads this line.
  console.log(
    `x402-stacks registry on ${service.url} (database: ${describeDatabase(config.database)})`,
  );
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
