/**
 * `x402-stacks/chain`: the one HTTP client for a Stacks node plus the Hiro extended API (broadcast, transaction
 * status, nonces, balances, fee rate, chain info), with timeouts, retries, a post-broadcast 404 grace period and
 * credential redaction; and the blocks the API pushes over its WebSocket channel (`watchBlocks`).
 * @module
 */
export type { MinedBlock, StopWatching } from './block-feed.js';
export { type ChainClient, type ChainClientOptions, createChainClient } from './client.js';
export {
  ChainRequestError,
  type ChainRequestErrorOptions,
  type ChainRequestReason,
  InvalidChainInputError,
} from './errors.js';
export { redactUrl } from './redact.js';
export type {
  AccountNonces,
  AccountState,
  BroadcastAccepted,
  BroadcastRejected,
  BroadcastResult,
  ChainEvent,
  ChainInfo,
  ChainTransaction,
  ChainTransactionStatus,
  ClarityValueJson,
  IndexedTransaction,
  UnindexedTransaction,
} from './types.js';
