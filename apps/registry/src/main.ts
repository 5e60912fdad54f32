/**
 * `npm start -w @x402-stacks/registry`: the registry, configured from the environment.
 */
import { ConfigError, describeDatabase, loadConfig } from './config.js';
import { startRegistryService } from './service.js';

try {
  const config = loadConfig(process.env);
  const service = await startRegistryService(config);
  console.log(
    `x402-stacks registry on ${service.url} (database: ${describeDatabase(config.database)})`,
  );
  const stop = (signal: string) => {
    console.log(`${signal}: stopping`);
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
