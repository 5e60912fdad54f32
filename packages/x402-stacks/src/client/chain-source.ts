/**
 * Which Stacks API the payer reads nonces, balances and fee rates from: an explicit `chain`, else `apiUrl` and
 * `apiKey`, else the environment, else Hiro's public API for the account's network. The environment step lets the
 * documented examples run against a local devnet with no code change.
 * @module
 */
import { type ChainClient, createChainClient } from '../chain/client.js';
import { STACKS_NETWORKS, type StacksNetworkName } from '../stacks/networks.js';

/**
 * Where the chain is read.
 * @example
 * ```ts
 * const source: ChainSourceOptions = { apiUrl: 'http://127.0.0.1:3999' };
 * ```
 */
export type ChainSourceOptions = {
  /** A ready chain client; the other two options are then ignored. */
  chain?: ChainClient;
  /**
   * Base URL of a Stacks node with the Hiro extended API. Default: `STACKS_API_URL_TESTNET` / `STACKS_API_URL_MAINNET`
   * (the account's network), then `STACKS_API_URL`, then `https://api.<network>.hiro.so`.
   */
  apiUrl?: string;
  /** Sent as `x-api-key`. Default: `STACKS_API_KEY`, when set. */
  apiKey?: string;
};

/**
 * The chain client the payer uses.
 * @example
 * ```ts
 * const chain = resolveChainClient({}, 'testnet'); // Hiro testnet, or STACKS_API_URL when set
 * ```
 */
export function resolveChainClient(
  options: ChainSourceOptions,
  network: StacksNetworkName,
): ChainClient {
  if (options.chain) return options.chain;
  const apiKey = options.apiKey ?? environment('STACKS_API_KEY');
  return createChainClient({
    network,
    url: chainApiUrl(options, network),
    ...(apiKey ? { apiKey } : {}),
  });
}

/**
 * The API base URL {@link resolveChainClient} uses when given no `chain`. It may hold credentials: redact it
 * (`redactUrl`) before showing it.
 * @example
 * ```ts
 * chainApiUrl({}, 'mainnet'); // 'https://api.mainnet.hiro.so' unless STACKS_API_URL_MAINNET or STACKS_API_URL is set
 * ```
 */
export function chainApiUrl(options: ChainSourceOptions, network: StacksNetworkName): string {
  return (
    options.apiUrl ??
    environment(`STACKS_API_URL_${network.toUpperCase()}`) ??
    environment('STACKS_API_URL') ??
    STACKS_NETWORKS[network].apiUrl
  );
}

// Browsers and workers have no process; an empty variable counts as unset.
function environment(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env?.[name];
  return value ? value : undefined;
}
