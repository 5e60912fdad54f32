/**
 * What `x402-stacks facilitator` and `x402-stacks registry` share: a service in the foreground. Flags say where it
 * listens (and any switches of its own), everything else comes from the environment the service documents; a bad
 * configuration is a usage error (exit 2) listing every problem; SIGINT or SIGTERM stops it cleanly.
 * @module
 */
import { parseArgs } from 'node:util';
import { ignoreClosedOutput, listenForStop, stopWithin } from '@x402-stacks/service-runtime';
import { EXIT_USAGE, type Io } from './io.js';

/** One service command. */
export type ServiceCommand<Config, Service extends { stop(): Promise<void> }> = {
  /** The command's name, for messages. */
  name: string;
  usage: string;
  /** Boolean switches beyond --port and --host, each mapped to the environment variable it sets to `true`. */
  switches?: Record<string, string>;
  /** The service's configuration from an environment; throws `configError` instances for bad values. */
  load(env: Record<string, string | undefined>): Config;
  configError: new (...args: never[]) => Error;
  start(config: Config): Promise<Service>;
  /** Lines printed once it listens; the first names its URL as `on http://…`. */
  started(service: Service, config: Config, io: Io): void;
  /** The line printed after it stopped. */
  stopped: string;
  /** What a stop cut at its deadline leaves behind, and where: said on the deadline's line. */
  leftBehind?: string;
};

/**
 * The usage text's environment section: each variable with its default, or what an empty default stands for
 * (`derived`), else `none`.
 */
export function environmentHelp(
  environment: Record<string, string>,
  derived: Record<string, string | undefined> = {},
): string {
  const width = Math.max(...Object.keys(environment).map((name) => name.length)) + 2;
  return Object.entries(environment)
    .map(([name, fallback]) => `  ${name.padEnd(width)}(${fallback || derived[name] || 'none'})`)
    .join('\n');
}

/**
 * Runs a service command until SIGINT or SIGTERM; resolves with the exit code.
 * @example
 * ```ts
 * return runServiceCommand(argv, io, { name: 'facilitator', usage, load: loadConfig,
 *   configError: ConfigError, start: startFacilitatorService, started: (s, _c, io) => io.out(`on ${s.url}`),
 *   stopped: 'stopped' });
 * ```
 */
export async function runServiceCommand<Config, Service extends { stop(): Promise<void> }>(
  argv: string[],
  io: Io,
  command: ServiceCommand<Config, Service>,
): Promise<number> {
  const switches = command.switches ?? {};
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.keys(switches).map((flag) => [flag, { type: 'boolean' }])),
      },
      strict: true,
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    io.err(
      `x402-stacks ${command.name}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return EXIT_USAGE;
  }
  if (values.help) {
    io.out(command.usage);
    return 0;
  }
  let config: Config;
  try {
    config = command.load({
      ...process.env,
      ...(typeof values.port === 'string' ? { PORT: values.port } : {}),
      ...(typeof values.host === 'string' ? { HOST: values.host } : {}),
      ...Object.fromEntries(
        Object.entries(switches)
          .filter(([flag]) => values[flag] === true)
          .map(([, variable]) => [variable, 'true']),
      ),
    });
  } catch (error) {
    if (error instanceof command.configError) {
      io.err(error.message);
      return EXIT_USAGE;
    }
    throw error;
  }
  // A service outlives its output's reader (a pipe to a log shipper that died).
  ignoreClosedOutput();
  const service = await command.start(config);
  // Listening before the started lines, and until the stop ends (see listenForStop).
  const stop = listenForStop();
  try {
    command.started(service, config, io);
    const signal = await stop.first;
    // Stopped, the process ends as its last handles close (work a stop cut short may still hold some, such as a
    // payment's wait for its payer's earlier nonce), and at the deadline at the latest, with the stop's code.
    return await stopWithin(service, signal, io, {
      stopped: command.stopped,
      ...(command.leftBehind ? { leftBehind: command.leftBehind } : {}),
    });
  } finally {
    stop.release();
  }
}
