/**
 * `x402-stacks keygen`: a new random Stacks key and its address. The one command that shows a private key, on
 * purpose; with `--key-file` it writes the key to a new file readable only by its owner and shows only the address.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateKeypair, type StacksAccount, type StacksNetworkName } from 'x402-stacks';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';

export const KEYGEN_USAGE = `Usage: x402-stacks keygen [--network testnet|mainnet] [--key-file <path>] [--json]

Generates a new random Stacks private key (compressed, as wallets export it) and prints its address.

Options:
  --network <name>    testnet or mainnet (default testnet)
  --key-file <path>   write the key to <path> (a new file, mode 600) instead of printing it;
                      use it later with 'x402-stacks pay --key-file <path>'
  --json              print {"network", "address", "publicKey", "privateKey"} as JSON
  -h, --help          show this help

Anyone who has the private key can spend what the address holds. Keep it out of shell history, logs and
version control; prefer --key-file, or the STACKS_PRIVATE_KEY environment variable from a secret store.`;

type KeygenOptions = {
  network: StacksNetworkName;
  keyFile: string | undefined;
  json: boolean;
  help: boolean;
};

/**
 * Reads keygen's flags.
 * @throws {UsageError}
 * @example
 * ```ts
 * parseKeygenArgs(['--network', 'mainnet']).network; // 'mainnet'
 * ```
 */
export function parseKeygenArgs(argv: string[]): KeygenOptions {
  let values: { network?: string; 'key-file'?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        network: { type: 'string' },
        'key-file': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return {
    network: networkFlag(values.network),
    keyFile: values['key-file'] === '' ? usage('--key-file needs a path') : values['key-file'],
    json: values.json ?? false,
    help: values.help ?? false,
  };
}

/**
 * Reads a `--network` flag: `testnet` (the default, so a forgotten flag never touches mainnet funds) or `mainnet`.
 * @throws {UsageError}
 */
export function networkFlag(value: string | undefined): StacksNetworkName {
  if (value === undefined || value === 'testnet') return 'testnet';
  if (value === 'mainnet') return 'mainnet';
  return usage(`--network must be testnet or mainnet, got '${value}'`);
}

function usage(message: string): never {
  throw new UsageError(message);
}

/** Runs `x402-stacks keygen`; resolves with the exit code. */
export async function runKeygen(argv: string[], io: Io = processIo): Promise<number> {
  let options: KeygenOptions;
  try {
    options = parseKeygenArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`x402-stacks keygen: ${error.message}\nRun 'x402-stacks keygen --help' for usage.`);
    return EXIT_USAGE;
  }
  if (options.help) {
    io.out(KEYGEN_USAGE);
    return 0;
  }
  const account = generateKeypair(options.network);
  if (options.keyFile !== undefined) {
    try {
      // 'wx': never overwrite a file, which may hold another key.
      writeFileSync(options.keyFile, `${account.privateKey}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'EEXIST' ? 'the file already exists (it is never overwritten)' : code;
      io.err(`x402-stacks keygen: cannot write ${options.keyFile}: ${why}`);
      return 1;
    }
  }
  io.out(describe(account, options));
  return 0;
}

function describe(account: StacksAccount, options: KeygenOptions): string {
  const written = options.keyFile !== undefined;
  if (options.json) {
    return JSON.stringify({
      network: account.network,
      address: account.address,
      publicKey: account.publicKey,
      ...(written ? { keyFile: options.keyFile } : { privateKey: account.privateKey }),
    });
  }
  const lines = [
    `Network      ${account.network} (${account.caip2})`,
    `Address      ${account.address}`,
    `Public key   ${account.publicKey}`,
    written
      ? `Private key  written to ${options.keyFile} (mode 600)`
      : `Private key  ${account.privateKey}`,
    '',
    written
      ? `Pay with it: x402-stacks pay <url> --key-file ${options.keyFile}`
      : 'Store the private key safely: anyone who has it can spend what the address holds. It is not saved anywhere.',
  ];
  if (account.network === 'testnet') {
    lines.push('Fund it from a testnet faucet, or on the local devnet: POST /devnet/faucet.');
  }
  return lines.join('\n');
}
