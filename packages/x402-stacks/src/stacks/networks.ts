/**
 * Stacks networks as data: names, CAIP-2 ids, chain ids, transaction and address versions, and default API URLs.
 * Conversion happens in one place, here.
 * @module
 */
import { UnknownNetworkError } from './errors.js';

/**
 * The Stacks network names x402-stacks accepts.
 * @example
 * ```ts
 * const name: StacksNetworkName = 'testnet';
 * ```
 */
export type StacksNetworkName = 'mainnet' | 'testnet';

/**
 * The CAIP-2 ids of the Stacks networks (`stacks:<chain id>`).
 * @example
 * ```ts
 * const testnet: StacksNetworkId = 'stacks:2147483648';
 * ```
 */
export type StacksNetworkId = 'stacks:1' | 'stacks:2147483648';

/**
 * Everything x402-stacks needs to know about one Stacks network.
 * @example
 * ```ts
 * const network: StacksNetwork = resolveNetwork('testnet', { apiUrl: 'http://127.0.0.1:3999' });
 * network.caip2; // 'stacks:2147483648'
 * ```
 */
export type StacksNetwork = {
  readonly name: StacksNetworkName;
  /** CAIP-2 id, as it appears in `accepts[].network`. */
  readonly caip2: StacksNetworkId;
  readonly chainId: number;
  readonly transactionVersion: number;
  /** c32 address versions: single-sig (`SP`/`ST`) and multi-sig (`SM`/`SN`). */
  readonly addressVersion: { readonly singleSig: number; readonly multiSig: number };
  /** Base URL of a Stacks node with the Hiro extended API. Overridable with `resolveNetwork(…, { apiUrl })`. */
  readonly apiUrl: string;
};

/**
 * The two Stacks networks.
 *
 * @example
 * ```ts
 * import { STACKS_NETWORKS } from 'x402-stacks';
 * STACKS_NETWORKS.testnet.caip2; // 'stacks:2147483648'
 * ```
 */
export const STACKS_NETWORKS = {
  mainnet: Object.freeze({
    name: 'mainnet',
    caip2: 'stacks:1',
    chainId: 0x00000001,
    transactionVersion: 0x00,
    addressVersion: Object.freeze({ singleSig: 22, multiSig: 20 }),
    apiUrl: 'https://api.mainnet.hiro.so',
  }),
  testnet: Object.freeze({
    name: 'testnet',
    caip2: 'stacks:2147483648',
    chainId: 0x80000000,
    transactionVersion: 0x80,
    addressVersion: Object.freeze({ singleSig: 26, multiSig: 21 }),
    apiUrl: 'https://api.testnet.hiro.so',
  }),
} as const satisfies Record<StacksNetworkName, StacksNetwork>;

/**
 * Anything `resolveNetwork` accepts: a name, a CAIP-2 id, legacy `'stacks'`, or a network object.
 * @example
 * ```ts
 * const inputs: StacksNetworkInput[] = ['mainnet', 'stacks:2147483648', STACKS_NETWORKS.testnet];
 * ```
 */
export type StacksNetworkInput =
  | StacksNetworkName
  | StacksNetworkId
  | 'stacks'
  | StacksNetwork
  | string;

/**
 * What `resolveNetwork` needs besides the network itself: an address for legacy `'stacks'`, or another API URL.
 * @example
 * ```ts
 * resolveNetwork('stacks', { payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7' }); // mainnet, by the prefix
 * resolveNetwork('testnet', { apiUrl: 'http://127.0.0.1:3999' });
 * ```
 */
export type ResolveNetworkOptions = {
  /** Resolves the legacy v1 network name `'stacks'` by the address prefix (`SP`/`SM` mainnet, `ST`/`SN` testnet). */
  payTo?: string;
  /** Replaces the default API URL, for a self-hosted node, a proxy or the local devnet. */
  apiUrl?: string;
};

/**
 * Resolves a network name, CAIP-2 id or network object to a `StacksNetwork`.
 *
 * @param input `'mainnet' | 'testnet' | 'stacks:1' | 'stacks:2147483648'`, legacy `'stacks'` (needs `payTo`), or a
 *   `StacksNetwork`.
 * @throws {UnknownNetworkError} for anything else.
 * @example
 * ```ts
 * import { resolveNetwork } from 'x402-stacks/stacks';
 * resolveNetwork('stacks:2147483648').name; // 'testnet'
 * resolveNetwork('stacks', { payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7' }).caip2; // 'stacks:1'
 * resolveNetwork('testnet', { apiUrl: 'http://127.0.0.1:3999' }).apiUrl; // 'http://127.0.0.1:3999'
 * ```
 */
export function resolveNetwork(
  input: StacksNetworkInput,
  options: ResolveNetworkOptions = {},
): StacksNetwork {
  const network = lookupNetwork(input, options.payTo);
  if (!network) {
    const name = typeof input === 'object' ? input?.name : input;
    throw new UnknownNetworkError(
      name,
      name === 'stacks'
        ? { details: "the legacy name 'stacks' needs a payTo address to tell mainnet from testnet" }
        : undefined,
    );
  }
  // A network object passed back in keeps its own API URL unless the options replace it.
  const apiUrl =
    options.apiUrl ??
    (typeof input === 'object' && typeof input.apiUrl === 'string' ? input.apiUrl : undefined);
  if (apiUrl === undefined || apiUrl === network.apiUrl) return network;
  return Object.freeze({ ...network, apiUrl: apiUrl.replace(/\/+$/, '') });
}

/**
 * Converts a network name to its CAIP-2 id.
 * @example
 * ```ts
 * networkToCAIP2('mainnet'); // 'stacks:1'
 * ```
 */
export function networkToCAIP2(network: StacksNetworkInput): StacksNetworkId {
  return resolveNetwork(network).caip2;
}

/**
 * Converts a CAIP-2 id (or a name) to the network name.
 * @example
 * ```ts
 * networkFromCAIP2('stacks:2147483648'); // 'testnet'
 * ```
 */
export function networkFromCAIP2(caip2: StacksNetworkInput): StacksNetworkName {
  return resolveNetwork(caip2).name;
}

/**
 * Whether the value names a Stacks network this library supports (name or CAIP-2), without throwing.
 * @example
 * ```ts
 * isStacksNetwork('stacks:1'); // true
 * isStacksNetwork('eip155:8453'); // false
 * ```
 */
export function isStacksNetwork(value: unknown): value is StacksNetworkName | StacksNetworkId {
  return typeof value === 'string' && lookupNetwork(value, undefined) !== undefined;
}

/**
 * The network an address version belongs to (`SP`/`SM` mainnet, `ST`/`SN` testnet), or undefined.
 * @example
 * ```ts
 * networkOfAddressVersion(26)?.name; // 'testnet'
 * ```
 */
export function networkOfAddressVersion(version: number): StacksNetwork | undefined {
  for (const network of Object.values(STACKS_NETWORKS)) {
    const { singleSig, multiSig } = network.addressVersion;
    if (version === singleSig || version === multiSig) return network;
  }
  return undefined;
}

function lookupNetwork(input: unknown, payTo: string | undefined): StacksNetwork | undefined {
  if (typeof input === 'object' && input !== null && 'name' in input) {
    return lookupNetwork((input as StacksNetwork).name, payTo);
  }
  switch (input) {
    case 'mainnet':
    case 'stacks:1':
      return STACKS_NETWORKS.mainnet;
    case 'testnet':
    case 'stacks:2147483648':
      return STACKS_NETWORKS.testnet;
    case 'stacks':
      // v1 listings say only "stacks"; the payTo prefix is the one reliable hint of which chain is meant.
      if (payTo?.startsWith('SP') || payTo?.startsWith('SM')) return STACKS_NETWORKS.mainnet;
      if (payTo?.startsWith('ST') || payTo?.startsWith('SN')) return STACKS_NETWORKS.testnet;
      return undefined;
    default:
      return undefined;
  }
}
