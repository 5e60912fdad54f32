/**
 * Stacks addresses and principals: parsing and validation with c32check, tied to a network.
 * @module
 */
import { c32address, c32addressDecode } from 'c32check';
import { InvalidAddressError } from './errors.js';
import { networkOfAddressVersion, type StacksNetwork } from './networks.js';

/**
 * A decoded standard principal.
 * @example
 * ```ts
 * const parsed: ParsedStacksAddress = parseStacksAddress('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
 * parsed.network.name; // 'testnet'; parsed.multiSig: false
 * ```
 */
export type ParsedStacksAddress = {
  readonly address: string;
  readonly version: number;
  /** hash160 of the principal, lower-case hex (40 characters). */
  readonly hash160: string;
  readonly network: StacksNetwork;
  readonly multiSig: boolean;
};

/**
 * A decoded principal: a standard address, optionally with a contract name (`SP….name`).
 * @example
 * ```ts
 * const token: ParsedPrincipal = parsePrincipal('SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token');
 * token.address; // 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4'; token.contractName: 'sbtc-token'
 * ```
 */
export type ParsedPrincipal = ParsedStacksAddress & {
  /** The principal as given: `SP…` or `SP….contract-name`. */
  readonly principal: string;
  readonly contractName?: string;
};

// Clarity contract names: a letter, then letters, digits, '-' or '_', at most 40 characters (stacks-core's rule).
const CONTRACT_NAME = /^[a-zA-Z]([a-zA-Z0-9]|[-_])*$/;
const MAX_CONTRACT_NAME_LENGTH = 40;

// Decoding and re-encoding c32check costs ~15 µs, and a facilitator sees the same few payTo, token and payer
// addresses on every request. Results are frozen, so sharing them is safe; the bound keeps memory flat.
const CACHE_LIMIT = 4096;
const parsedAddresses = new Map<string, ParsedStacksAddress>();
const encodedAddresses = new Map<string, string>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
  return value;
}

/**
 * Decodes and checks a standard Stacks address.
 *
 * @param network When given, the address must belong to it.
 * @throws {InvalidAddressError} when the checksum, version or network is wrong.
 * @example
 * ```ts
 * import { parseStacksAddress } from 'x402-stacks';
 * parseStacksAddress('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM').network.name; // 'testnet'
 * ```
 */
export function parseStacksAddress(address: string, network?: StacksNetwork): ParsedStacksAddress {
  const parsed =
    parsedAddresses.get(address) ?? remember(parsedAddresses, address, decodeAddress(address));
  if (network && parsed.network.name !== network.name) {
    throw new InvalidAddressError(
      address,
      `it is a ${parsed.network.name} address, not ${network.name}`,
    );
  }
  return parsed;
}

/**
 * Encodes a version and hash160 as a c32check address.
 * @example
 * ```ts
 * addressFromHash160(26, '6d78de7b0625dfbfc16c3a8a5735f6dc3dc3f2ce'); // 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM'
 * ```
 */
export function addressFromHash160(version: number, hash160: string): string {
  const key = `${version}:${hash160}`;
  return encodedAddresses.get(key) ?? remember(encodedAddresses, key, c32address(version, hash160));
}

function decodeAddress(address: string): ParsedStacksAddress {
  if (typeof address !== 'string' || address.length < 5 || address.length > 128) {
    throw new InvalidAddressError(address, 'not a c32check address string');
  }
  let version: number;
  let hash160: string;
  try {
    [version, hash160] = c32addressDecode(address);
  } catch (cause) {
    throw new InvalidAddressError(address, 'bad c32check encoding or checksum', { cause });
  }
  // c32 decoding is lenient about case and some look-alike letters; only the canonical spelling is one address.
  if (c32address(version, hash160) !== address) {
    throw new InvalidAddressError(address, 'not in canonical c32check form');
  }
  const owner = networkOfAddressVersion(version);
  if (!owner) throw new InvalidAddressError(address, `address version ${version} is not Stacks`);
  const multiSig = version === owner.addressVersion.multiSig;
  return Object.freeze({ address, version, hash160, network: owner, multiSig });
}

/**
 * Decodes a principal: `SP…` or `SP….contract-name`.
 * @throws {InvalidAddressError}
 * @example
 * ```ts
 * parsePrincipal('SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token').contractName; // 'sbtc-token'
 * ```
 */
export function parsePrincipal(principal: string, network?: StacksNetwork): ParsedPrincipal {
  if (typeof principal !== 'string') throw new InvalidAddressError(principal, 'not a string');
  const dot = principal.indexOf('.');
  if (dot === -1) return { ...parseStacksAddress(principal, network), principal };
  const contractName = principal.slice(dot + 1);
  if (contractName.length > MAX_CONTRACT_NAME_LENGTH || !CONTRACT_NAME.test(contractName)) {
    throw new InvalidAddressError(principal, `"${contractName}" is not a valid contract name`);
  }
  return { ...parseStacksAddress(principal.slice(0, dot), network), principal, contractName };
}

/**
 * Whether the value is a valid Stacks address (optionally of one network), without throwing.
 * @example
 * ```ts
 * isValidStacksAddress('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM'); // true
 * ```
 */
export function isValidStacksAddress(address: unknown, network?: StacksNetwork): boolean {
  try {
    parseStacksAddress(address as string, network);
    return true;
  } catch {
    return false;
  }
}
