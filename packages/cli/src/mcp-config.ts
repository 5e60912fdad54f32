/**
 * The configuration of `x402-stacks mcp`, from its flags and environment: what signs (a key file or
 * `STACKS_PRIVATE_KEY`, never a flag; or a signer socket, and then no key at all), the network and chain API, the
 * spending limits per payment, for the session and, with a budget file, for every process counting in it, the
 * registry to discover in, and the transport (stdio, or streamable HTTP on a loopback address only).
 * @module
 */
import { parseArgs } from 'node:util';
import type { StacksNetworkName } from 'x402-stacks';
import {
  BUDGET_FLAGS,
  type BudgetSettings,
  readAssetAmounts,
  readBudgetSettings,
} from './budget-options.js';
import { UsageError } from './io.js';
import { networkFlag } from './keygen.js';

/** The registry searched by `discover` when none is configured: `x402-stacks registry` (and the demo's) on this machine. */
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8090';

/** What the session may spend in all, per asset that `--budget` and `X402_BUDGET` do not name: one maximum payment of each. */
const DEFAULT_BUDGET = '1 STX, 0.0001 sBTC, 1 USDCx';

/** The most of a paid response's body handed to the agent, by default: 64 KiB. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export type McpCommandOptions = {
  readonly transport: 'stdio' | 'http';
  readonly host: string;
  readonly port: number;
  readonly keyFile: string | undefined;
  readonly allowInsecureKeyFile: boolean;
  /** The Unix socket of an `x402-stacks signer` holding the key; this process then reads no key at all. */
  readonly signerSocket: string | undefined;
  readonly network: StacksNetworkName;
  readonly apiUrl: string | undefined;
  readonly apiKey: string | undefined;
  /** Per payment, per asset symbol; `undefined` keeps the library's defaults. */
  readonly maxAmount: Record<string, bigint> | undefined;
  /** The session cap: what this process may spend in all, per asset symbol, counted in memory. */
  readonly budget: Record<string, bigint>;
  /**
   * The budget flags as `pay` reads them: with a `file`, `total` (the `--budget` given, if any) and `window` cap
   * every payment counted in that file; without one, this session.
   */
  readonly budgetSettings: BudgetSettings;
  readonly registryUrl: string;
  readonly maxBodyBytes: number;
  /** Required as `Authorization: Bearer <token>` on the HTTP transport, when set. */
  readonly httpToken: string | undefined;
};

const FLAGS = {
  transport: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'key-file': { type: 'string' },
  'allow-insecure-key-file': { type: 'boolean' },
  'signer-socket': { type: 'string' },
  network: { type: 'string' },
  'api-url': { type: 'string' },
  'max-amount': { type: 'string' },
  ...BUDGET_FLAGS,
  'registry-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Reads the command's flags, then the environment for what they leave unset.
 * @throws {UsageError}
 * @example
 * ```ts
 * parseMcpArgs(['--transport', 'http', '--port', '0'], process.env).transport; // 'http'
 * ```
 */
export function parseMcpArgs(argv: string[], env: NodeJS.ProcessEnv): McpCommandOptions | 'help' {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const transport = values.transport ?? env.X402_MCP_TRANSPORT ?? 'stdio';
  if (transport !== 'stdio' && transport !== 'http') {
    throw new UsageError(`--transport must be stdio or http, got '${transport}'`);
  }
  const host = values.host ?? env.X402_MCP_HOST ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) {
    // The server spends the key's money for whoever calls it: it listens on this machine only.
    throw new UsageError(
      `--host must be a loopback address (127.0.0.1, ::1 or localhost), got '${host}'`,
      'non_loopback_host',
    );
  }
  const port = Number(values.port ?? env.X402_MCP_PORT ?? '8402');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be a port number from 0 to 65535`);
  }
  const network = networkFlag(values.network ?? (env.NETWORK || undefined));
  const maxAmountText = values['max-amount'] ?? (env.X402_MAX_AMOUNT || undefined);
  const registryUrl = values['registry-url'] ?? (env.X402_REGISTRY_URL || DEFAULT_REGISTRY_URL);
  if (!/^https?:\/\//i.test(registryUrl) || !URL.canParse(registryUrl)) {
    throw new UsageError(`the registry URL '${registryUrl}' is not an http(s) URL`);
  }
  const keyFile = values['key-file'] ?? (env.X402_KEY_FILE || undefined);
  const signerSocket = values['signer-socket'] ?? (env.X402_SIGNER_SOCKET || undefined);
  if (signerSocket !== undefined && (keyFile !== undefined || env.STACKS_PRIVATE_KEY)) {
    // The socket is there to keep the key out of the agent's process: one already in it defeats that.
    throw new UsageError(
      'give a key (--key-file, X402_KEY_FILE or STACKS_PRIVATE_KEY) or a signer socket (--signer-socket, ' +
        'X402_SIGNER_SOCKET), not both: with a signer socket the key stays out of this process',
      'key_and_signer_socket',
    );
  }
  if (signerSocket === undefined && keyFile === undefined && !env.STACKS_PRIVATE_KEY) {
    throw new UsageError(
      "no key: give --key-file <path> (or X402_KEY_FILE), or --signer-socket <path> of an 'x402-stacks signer' " +
        "(or X402_SIGNER_SOCKET), or set STACKS_PRIVATE_KEY (create a key with 'x402-stacks keygen')",
      'no_key',
    );
  }
  const budgetSettings = readBudgetSettings(values, env, network);
  const maxBodyBytes = Number(env.X402_MCP_MAX_BODY_BYTES ?? DEFAULT_MAX_BODY_BYTES);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > 10 * 1024 * 1024) {
    throw new UsageError('X402_MCP_MAX_BODY_BYTES must be a whole number of bytes up to 10 MiB');
  }
  return {
    transport,
    host,
    port,
    keyFile,
    allowInsecureKeyFile: values['allow-insecure-key-file'] ?? false,
    signerSocket,
    network,
    apiUrl:
      values['api-url'] ??
      (env[`STACKS_API_URL_${network.toUpperCase()}`] || env.STACKS_API_URL || undefined),
    apiKey: env.STACKS_API_KEY || undefined,
    maxAmount:
      maxAmountText === undefined ? undefined : readAmounts(maxAmountText, network, '--max-amount'),
    // The session is always capped, in every asset it may pay: by the --budget given, and an asset that --budget
    // leaves out by its default (else naming STX alone would leave sBTC and USDCx uncapped for the session).
    budget: { ...readAmounts(DEFAULT_BUDGET, network, '--budget'), ...budgetSettings.total },
    budgetSettings,
    registryUrl: registryUrl.replace(/\/+$/, ''),
    maxBodyBytes,
    httpToken: env.X402_MCP_HTTP_TOKEN || undefined,
  };
}

/**
 * A comma-separated list of amounts with their asset (`'0.01 STX, 0.0001 sBTC'`) as atomic units per symbol.
 * @throws {UsageError}
 */
function readAmounts(
  text: string,
  network: StacksNetworkName,
  flag: string,
): Record<string, bigint> {
  return readAssetAmounts(text.split(','), flag, network);
}
