import { InvalidTransactionIdError } from './errors.js';
import { resolveNetwork, type StacksNetworkInput } from './networks.js';

const EXPLORER_URL = 'https://explorer.hiro.so';

/**
 * The Hiro explorer page of a transaction.
 *
 * @param txid 64 hex characters, with or without `0x`.
 * @throws {InvalidTransactionIdError} for anything else.
 * @param network `'mainnet' | 'testnet'` or a CAIP-2 id. Default `'testnet'`.
 * @example
 * ```ts
 * import { getExplorerURL } from 'x402-stacks';
 * getExplorerURL('0xabc…', 'testnet'); // 'https://explorer.hiro.so/txid/0xabc…?chain=testnet'
 * ```
 */
export function getExplorerURL(txid: string, network: StacksNetworkInput = 'testnet'): string {
  const { name } = resolveNetwork(network);
  const bare = typeof txid === 'string' && txid.startsWith('0x') ? txid.slice(2) : txid;
  if (typeof bare !== 'string' || !/^[0-9a-fA-F]{64}$/.test(bare))
    throw new InvalidTransactionIdError(txid);
  return `${EXPLORER_URL}/txid/0x${bare.toLowerCase()}?chain=${name}`;
}
