/**
 * `x402-stacks balance <address>`: STX and the known tokens of an address, in their own units and in atomic units,
 * read from a Stacks node with the Hiro API. The network comes from the address prefix.
 * @module
 */
import { parseArgs } from 'node:util';
import { type StacksNetworkName, X402StacksError } from 'x402-stacks';
import { redactUrl } from 'x402-stacks/chain';
import { chainApiUrl, resolveChainClient } from 'x402-stacks/client';
import {
  fromAtomic,
  KNOWN_TOKENS,
  type KnownTokenSymbol,
  parsePrincipal,
} from 'x402-stacks/stacks';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';

export const BALANCE_USAGE = `Usage: x402-stacks balance <address> [--api-url <url>] [--json]

Shows the STX, sBTC and USDCx balances of a Stacks address, in whole units and in atomic units (micro-STX,
sats), and its next nonce. The network follows the address: SP/SM mainnet, ST/SN testnet (and the local devnet).

Options:
  --api-url <url>   Stacks node with the Hiro API (default: STACKS_API_URL_TESTNET or _MAINNET, then
                    STACKS_API_URL, then https://api.<network>.hiro.so)
  --json            print the balances as JSON, amounts as atomic strings
  -h, --help        show this help

Environment: STACKS_API_KEY is sent as x-api-key.`;

/** One balance line. */
type Holding = { symbol: string; asset: string; decimals: number; unit: string; amount: bigint };

const UNITS: Record<'STX' | KnownTokenSymbol, string> = {
  STX: 'micro-STX',
  sBTC: 'sats',
  USDCx: 'micro-USDCx',
};

/** Runs `x402-stacks balance`; resolves with the exit code. */
export async function runBalance(argv: string[], io: Io = processIo): Promise<number> {
  let options: { address: string; network: StacksNetworkName; apiUrl?: string; json: boolean };
  try {
    const parsed = parseBalanceArgs(argv);
    if (parsed === 'help') {
      io.out(BALANCE_USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`x402-stacks balance: ${error.message}\nRun 'x402-stacks balance --help' for usage.`);
    return EXIT_USAGE;
  }
  const source = options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl };
  const shownUrl = redactUrl(chainApiUrl(source, options.network));
  let holdings: Holding[];
  let nonce: bigint;
  try {
    const chain = resolveChainClient(source, options.network);
    const tokens = (Object.keys(KNOWN_TOKENS) as KnownTokenSymbol[]).map((symbol) => {
      const token = KNOWN_TOKENS[symbol];
      return {
        symbol,
        asset: `${token.contracts[options.network]}::${token.assetName}`,
        decimals: token.decimals,
        unit: UNITS[symbol],
      };
    });
    const [stx, next, ...amounts] = await Promise.all([
      chain.getStxBalance(options.address),
      chain.getNextNonce(options.address),
      ...tokens.map((token) => chain.getFtBalance(options.address, token.asset)),
    ]);
    nonce = next;
    holdings = [
      { symbol: 'STX', asset: 'STX', decimals: 6, unit: UNITS.STX, amount: stx },
      ...tokens.map((token, index) => ({ ...token, amount: amounts[index]! })),
    ];
  } catch (error) {
    io.err(`x402-stacks balance: ${describeFailure(error)}\n  API: ${shownUrl}`);
    return 1;
  }
  if (options.json) {
    io.out(
      JSON.stringify({
        address: options.address,
        network: options.network,
        nextNonce: nonce.toString(),
        balances: Object.fromEntries(holdings.map((h) => [h.symbol, h.amount.toString()])),
      }),
    );
    return 0;
  }
  io.out(formatHoldings(options.address, options.network, shownUrl, nonce, holdings));
  return 0;
}

function parseBalanceArgs(
  argv: string[],
): 'help' | { address: string; network: StacksNetworkName; apiUrl?: string; json: boolean } {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof BALANCE_FLAGS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      options: BALANCE_FLAGS,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? 'an address is required' : 'give exactly one address',
    );
  }
  const address = positionals[0]!;
  let network: StacksNetworkName;
  try {
    network = parsePrincipal(address).network.name;
  } catch (error) {
    throw new UsageError(`'${address}' is not a Stacks address: ${describeFailure(error)}`);
  }
  if (values['api-url'] === '') throw new UsageError('--api-url needs a URL');
  return {
    address,
    network,
    ...(values['api-url'] === undefined ? {} : { apiUrl: values['api-url'] }),
    json: values.json ?? false,
  };
}

const BALANCE_FLAGS = {
  'api-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function formatHoldings(
  address: string,
  network: StacksNetworkName,
  apiUrl: string,
  nonce: bigint,
  holdings: Holding[],
): string {
  const rows = holdings.map((h) => [
    h.symbol,
    fromAtomic(h.amount, h.decimals),
    `${h.amount} ${h.unit}`,
  ]);
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return [
    `Address     ${address} (${network})`,
    `API         ${apiUrl}`,
    `Next nonce  ${nonce}`,
    '',
    ...rows.map(
      ([symbol, whole, atomic]) =>
        `  ${symbol!.padEnd(widths[0]!)}  ${whole!.padStart(widths[1]!)}  (${atomic})`,
    ),
  ].join('\n');
}

/**
 * One line for a library error: its short message and reason code; anything else by its message. Keys never appear
 * in the library's messages, and URLs in them are already redacted.
 * @example
 * ```ts
 * describeFailure(new InvalidAddressError('x', 'bad')); // "… (invalid_address)"
 * ```
 */
export function describeFailure(error: unknown): string {
  if (error instanceof X402StacksError) {
    const lines = [...error.metaMessages, ...(error.details ? [`Details: ${error.details}`] : [])];
    const more = lines.length > 0 ? `\n  ${lines.join('\n  ')}` : '';
    return `${error.shortMessage} (${error.reason})${more}`;
  }
  return error instanceof Error ? error.message : String(error);
}
