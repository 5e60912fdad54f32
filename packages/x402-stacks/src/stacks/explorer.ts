import { InvalidTransactionIdError } from './errors.js';
import { resolveNetwork, type StacksNetworkInput } from './networks.js';

const EXPLORER_URL = 'https://explorer.hiro.so';

/**
 * The Hiro explorer page of a transaction.
 *
 * @param txid 64 hex characters, with or without `0x`.
 * @throws {InvalidTransactionIdError} for anything else.
 * @param network `'mainnet' | 'testnet'` or a CAIP-2 id. Default `'testnet'`.
 * @param options.apiUrl the node to show the transaction from, for a chain Hiro does not index (a local devnet): the
 *   explorer then reads that node, as its custom-network setting does. Credentials in it are dropped.
 * @example
 * ```ts
 * import { getExplorerURL } from 'x402-stacks';
 * getExplorerURL('0xabc…', 'testnet'); // 'https://explorer.hiro.so/txid/0xabc…?chain=testnet'
 * getExplorerURL('0xabc…', 'testnet', { apiUrl: 'http://127.0.0.1:3999' });
 * // 'https://explorer.hiro.so/txid/0xabc…?chain=testnet&api=http%3A%2F%2F127.0.0.1%3A3999'
 * ```
 */
export function getExplorerURL(
  txid: string,
  network: StacksNetworkInput = 'testnet',
  options: { apiUrl?: string } = {},
): string {
  const { name } = resolveNetwork(network);
  const bare = typeof txid === 'string' && txid.startsWith('0x') ? txid.slice(2) : txid;
  if (typeof bare !== 'string' || !/^[0-9a-fA-F]{64}$/.test(bare))
    throw new InvalidTransactionIdError(txid);
  const link = `${EXPLORER_URL}/txid/0x${bare.toLowerCase()}?chain=${name}`;
  if (!options.apiUrl) return link;
  const api = new URL(options.apiUrl);
  api.username = '';
  api.password = '';
  return `${link}&api=${encodeURIComponent(api.origin + api.pathname.replace(/\/$/, ''))}`;
}
