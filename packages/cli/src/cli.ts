/**
 * The `x402-stacks` command: global options, then dispatch to a subcommand.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT_USAGE, type Io, processIo } from './io.js';

type Command = {
  summary: string;
  run(argv: string[], io: Io): Promise<number>;
};

// Each command's module is imported only when that command runs: `x402-stacks devnet` must not load the
// facilitator's SQL drivers, logger and metrics, nor the registry's pages, just to sit idle.
const COMMANDS: Record<string, Command> = {
  keygen: {
    summary: 'Generate a Stacks private key and its address',
    run: async (argv, io) => (await import('./keygen.js')).runKeygen(argv, io),
  },
  balance: {
    summary: 'Show the STX, sBTC and USDCx balances of an address',
    run: async (argv, io) => (await import('./balance.js')).runBalance(argv, io),
  },
  pay: {
    summary: 'Request a URL like curl, paying its 402 from your key',
    run: async (argv, io) => (await import('./pay.js')).runPay(argv, io),
  },
  channel: {
    summary: 'List, open, top up, withdraw from and refund batch-settlement channels',
    run: async (argv, io) => (await import('./channel.js')).runChannel(argv, io),
  },
  budget: {
    summary: 'Show spending against the budget caps of a budget file, or reset a window',
    run: async (argv, io) => (await import('./budget.js')).runBudget(argv, io),
  },
  signer: {
    summary: 'Hold a key behind a local socket and sign payments within its own policy',
    run: async (argv, io) => (await import('./signer.js')).runSigner(argv, io),
  },
  mcp: {
    summary: 'Serve an MCP server whose tools let an agent find and pay for APIs within a budget',
    run: async (argv, io) => (await import('./mcp.js')).runMcp(argv, io),
  },
  devnet: {
    summary: 'Start a local Stacks chain (node and Hiro API routes) with funded accounts',
    run: async (argv, io) => (await import('./devnet.js')).runDevnet(argv, io),
  },
  facilitator: {
    summary: 'Verify and settle payments over HTTP (configured by environment variables)',
    run: async (argv, io) => (await import('./facilitator.js')).runFacilitator(argv, io),
  },
  registry: {
    summary: 'Run x402scan: register, validate, re-check and list paid Stacks APIs',
    run: async (argv, io) => (await import('./registry.js')).runRegistry(argv, io),
  },
  demo: {
    summary: 'Run the whole payment flow locally: devnet, facilitator, seller and buyer',
    run: async (argv, io) => (await import('./demo.js')).runDemo(argv, io),
  },
};

export const USAGE = `x402-stacks: HTTP 402 payments on Stacks, from the command line.

Usage: x402-stacks <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(13)}${command.summary}`)
  .join('\n')}

Options:
  -h, --help     Show this help; \`x402-stacks <command> --help\` shows a command's
  -v, --version  Print the version`;

/**
 * Runs the command line and resolves with the exit code: 0 on success, 1 on a runtime failure, 2 on a usage error.
 * @example
 * ```ts
 * process.exitCode = await run(process.argv.slice(2));
 * ```
 */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  // Options before the first positional are global; everything from the command on is the command's.
  const commandIndex = argv.findIndex((argument) => !argument.startsWith('-'));
  const globalArgs = commandIndex < 0 ? argv : argv.slice(0, commandIndex);
  let global: { help?: boolean; version?: boolean };
  try {
    global = parseArgs({
      args: globalArgs,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }).values;
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }
  if (global.version) {
    io.out(version());
    return 0;
  }
  const name = commandIndex < 0 ? undefined : argv[commandIndex];
  const rest = commandIndex < 0 ? [] : argv.slice(commandIndex + 1);
  if (name === 'help') {
    const topic = rest[0];
    if (topic && Object.hasOwn(COMMANDS, topic)) return COMMANDS[topic]!.run(['--help'], io);
    io.out(USAGE);
    return 0;
  }
  if (global.help) {
    if (name && Object.hasOwn(COMMANDS, name)) return COMMANDS[name]!.run(['--help'], io);
    io.out(USAGE);
    return 0;
  }
  if (name === undefined) {
    io.err(USAGE);
    return EXIT_USAGE;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    return usageError(io, `unknown command '${name}'`);
  }
  return COMMANDS[name]!.run(rest, io);
}

function usageError(io: Io, message: string): number {
  io.err(`x402-stacks: ${message}\nRun 'x402-stacks --help' for the list of commands.`);
  return EXIT_USAGE;
}

function version(): string {
  const path = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
