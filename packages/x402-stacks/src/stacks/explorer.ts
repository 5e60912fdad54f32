import { resolveNetwork, type StacksNetworkInput } from './networks.js';

const EXPLORER_URL = 'https://explorer.hiro.so';

/**
 * The Hiro explorer page of a transaction.
 *
 * @param txid 64 hex characters, with or without `0x`.
 * @param network `'mainnet' | 'testnet'` or a CAIP-2 id. Default `'testnet'`.
 * @example
 * ```ts
 * import { getExplorerURL } from 'x402-stacks';
 * getExplorerURL('0xabc…', 'testnet'); // 'https://explorer.hiro.so/txid/0xabc…?chain=testnet'
 * ```
 */
export function getExplorerURL(txid: string, network: StacksNetworkInput = 'testnet'): string {
  const { name } = resolveNetwork(network);
  const bare = typeof txid === 'string' && txid.startsWith('0x') ? txid.slice(2) : String(txid);
  return `${EXPLORER_URL}/txid/0x${encodeURIComponent(bare.toLowerCase())}?chain=${name}`;
}
