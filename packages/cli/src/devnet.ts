/**
 * `x402-stacks devnet`: starts the embedded local Stacks chain and prints how to use it.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Devnet, type MiningMode, startDevnet, tokenAssetId } from '@x402-stacks/devnet';
import { microSTXtoSTX, satsToBTC } from 'x402-stacks';
import { KNOWN_TOKENS } from 'x402-stacks/stacks';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';

export const DEFAULT_PORT = 3999;
export const DEFAULT_HOST = '127.0.0.1';
/** The demo's block time. */
export const DEFAULT_BLOCK_TIME_MS = 2000;
export const DEFAULT_ACCOUNTS = 10;
const MAX_ACCOUNTS = 1000;
/** The devnet refuses faster intervals; setInterval refuses longer ones. */
const MIN_BLOCK_TIME_MS = 10;
const MAX_BLOCK_TIME_MS = 2 ** 31 - 1;

export const DEVNET_USAGE = `Usage: x402-stacks devnet [options]

Starts an embedded local Stacks chain on the testnet chain id, serving the Stacks node and Hiro API routes over
HTTP, with funded genesis accounts. Ctrl-C stops it (and saves --state).

Options:
  --port <n>          TCP port; 0 picks a free one and prints it (default ${DEFAULT_PORT})
  --host <address>    Interface to bind (default ${DEFAULT_HOST})
  --block-time <ms>   Mine a block every <ms> milliseconds, at least ${MIN_BLOCK_TIME_MS} (default ${DEFAULT_BLOCK_TIME_MS});
                      0 mines a block right after every accepted broadcast
  --manual            Mine only when asked, on POST /devnet/mine; not with --block-time
  --state <file>      Load the chain from <file> when it exists, save it there on exit
                      (default: none, the chain lives in memory only)
  --accounts <n>      How many genesis accounts to fund, 1 to ${MAX_ACCOUNTS} (default ${DEFAULT_ACCOUNTS})
  -h, --help          Show this help

Examples:
  x402-stacks devnet
  x402-stacks devnet --port 0 --block-time 0 --state ./devnet-state.json`;

/** What `x402-stacks devnet` was asked for. */
export type DevnetCommandOptions = {
  port: number;
  host: string;
  mining: MiningMode;
  statePath: string | undefined;
  accounts: number;
  help: boolean;
};

/**
 * Reads the devnet command's flags.
 * @throws {UsageError} for an unknown flag, a stray argument or a bad value.
 * @example
 * ```ts
 * parseDevnetArgs(['--port', '0', '--block-time', '0']).mining; // { mode: 'on-broadcast' }
 * ```
 */
export function parseDevnetArgs(argv: string[]): DevnetCommandOptions {
  let values: {
    port?: string;
    host?: string;
    'block-time'?: string;
    manual?: boolean;
    state?: string;
    accounts?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'block-time': { type: 'string' },
        manual: { type: 'boolean' },
        state: { type: 'string' },
        accounts: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const help = values.help ?? false;
  const port = integerFlag('--port', values.port, DEFAULT_PORT, 0, 65535);
  const host = values.host ?? DEFAULT_HOST;
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  if (values.manual && values['block-time'] !== undefined) {
    throw new UsageError('--manual and --block-time cannot be combined: pick one block mode');
  }
  const blockTime = integerFlag(
    '--block-time',
    values['block-time'],
    DEFAULT_BLOCK_TIME_MS,
    0,
    MAX_BLOCK_TIME_MS,
  );
  if (blockTime > 0 && blockTime < MIN_BLOCK_TIME_MS) {
    throw new UsageError(
      `--block-time must be 0 (a block per broadcast) or at least ${MIN_BLOCK_TIME_MS} ms, got ${blockTime}`,
    );
  }
  const mining: MiningMode = values.manual
    ? { mode: 'manual' }
    : blockTime === 0
      ? { mode: 'on-broadcast' }
      : { mode: 'interval', intervalMs: blockTime };
  let statePath: string | undefined;
  if (values.state !== undefined) {
    if (values.state === '') throw new UsageError('--state needs a file path');
    statePath = resolve(values.state);
    const directory = dirname(statePath);
    if (!existsSync(directory) || !statSync(directory).isDirectory()) {
      throw new UsageError(`--state: the directory ${directory} does not exist`);
    }
    if (existsSync(statePath) && statSync(statePath).isDirectory()) {
      throw new UsageError(`--state: ${statePath} is a directory, not a file`);
    }
  }
  const accounts = integerFlag('--accounts', values.accounts, DEFAULT_ACCOUNTS, 1, MAX_ACCOUNTS);
  return { port, host, mining, statePath, accounts, help };
}

function integerFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const sign = /^\s*-/.test(value) ? ' (negative values are not allowed)' : '';
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${value}'${sign}`);
  }
  return number;
}

/**
 * Runs `x402-stacks devnet`: starts the devnet, prints its URL, block mode, accounts and routes, and resolves with
 * exit code 0 once SIGINT or SIGTERM has stopped it (and saved the state file, when one is given).
 */
export async function runDevnet(argv: string[], io: Io = processIo): Promise<number> {
  let options: DevnetCommandOptions;
  try {
    options = parseDevnetArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`x402-stacks devnet: ${error.message}\nRun 'x402-stacks devnet --help' for usage.`);
    return EXIT_USAGE;
  }
  if (options.help) {
    io.out(DEVNET_USAGE);
    return 0;
  }

  const loaded = options.statePath !== undefined && existsSync(options.statePath);
  let devnet: Devnet;
  try {
    devnet = await startDevnet({
      port: options.port,
      host: options.host,
      mining: options.mining,
      accounts: options.accounts,
      ...(options.statePath ? { statePath: options.statePath } : {}),
    });
  } catch (error) {
    io.err(`x402-stacks devnet: could not start: ${describeError(error)}`);
    return 1;
  }
  // The handlers are set (synchronously, in the executor below) before the banner: a signal that came before them
  // would kill the process outright, without saving its state.
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.err(`x402-stacks devnet: ${signal} again, exiting without waiting`);
        process.exit(130);
      }
      stopping = true;
      devnet.stop().then(
        () => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          const saved = options.statePath ? `; state saved to ${options.statePath}` : '';
          io.out(`${signal}: devnet stopped at block ${devnet.chain.height}${saved}`);
          resolveExit(0);
        },
        (error: unknown) => {
          io.err(`x402-stacks devnet: stopping failed: ${describeError(error)}`);
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    io.out(banner(devnet, options, loaded));
  });
}

function banner(devnet: Devnet, options: DevnetCommandOptions, loaded: boolean): string {
  // startDevnet spells its URL without brackets; an IPv6 host needs them.
  const url = options.host.includes(':') ? `http://[${options.host}]:${devnet.port}` : devnet.url;
  const state = options.statePath
    ? `${options.statePath} (${loaded ? `loaded at block ${devnet.chain.height}` : 'new'}; saved on exit)`
    : 'in memory only (use --state <file> to keep it across restarts)';
  const lines = [
    'x402-stacks devnet: an embedded local Stacks chain',
    '',
    `  URL      ${url}`,
    `  Network  testnet chain id 0x80000000 (CAIP-2 stacks:2147483648): testnet clients work unchanged`,
    `  Blocks   ${describeMining(devnet.mining)}`,
    `  State    ${state}`,
  ];
  if (!isLoopback(options.host)) {
    lines.push(
      `  Warning  listening on ${options.host}: the /devnet/* admin routes (faucet, faults) have no authentication`,
    );
  }
  lines.push(
    '',
    "Accounts (public keys from Clarinet's published devnet mnemonic: anyone can spend them, never use them on a real network)",
    '',
    accountsTable(devnet),
    '',
    'Admin routes (devnet only; amounts are atomic units, as strings)',
    '  POST /devnet/mine     {"blocks": 1}                         mine blocks now, in any block mode',
    '  POST /devnet/faucet   {"address": "ST…", "stx": "1000000"}  fund any address ("sBTC", "USDCx" too)',
    '  POST /devnet/faults   {"kind": "delay", "blocks": 2}        fault the next transaction, or "txid": a pending one',
    '                        (kinds: delay, drop, abort)',
    '  POST /devnet/stall    {"stalled": true}                     stop or resume mining',
    '  GET  /devnet/accounts, GET /devnet/state',
    `  e.g. curl -X POST ${url}/devnet/mine`,
    '',
    'Point clients at it: network testnet, node and API URL as above',
    `  NETWORK=testnet STACKS_API_URL=${url}`,
    `  createChainClient({ network: 'testnet', url: '${url}' })`,
    `  curl ${url}/v2/info`,
    '',
    'Press Ctrl-C to stop.',
  );
  return lines.join('\n');
}

function describeMining(mining: MiningMode): string {
  switch (mining.mode) {
    case 'interval':
      return `a block every ${mining.intervalMs} ms (--block-time ${mining.intervalMs})`;
    case 'on-broadcast':
      return 'a block right after every accepted broadcast (--block-time 0)';
    case 'manual':
      return 'manual: only on POST /devnet/mine (--manual)';
  }
}

function accountsTable(devnet: Devnet): string {
  const sbtc = [...devnet.chain.tokens.values()].find(
    (token) => token.contractId === KNOWN_TOKENS.sBTC.contracts.testnet,
  );
  const rows = devnet.accounts.map((account) => [
    account.name,
    account.address,
    account.privateKey,
    microSTXtoSTX(devnet.chain.state.stx(account.address)),
    sbtc ? satsToBTC(devnet.chain.state.token(tokenAssetId(sbtc), account.address)) : '-',
  ]);
  const headers = ['name', 'address', 'private key', 'STX', 'sBTC'];
  const numeric = [false, false, false, true, true];
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `  ${cells
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd()}`;
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `${error.message}: the port is taken (try --port 0)`;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
