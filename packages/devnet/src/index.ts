/**
 * @x402-stacks/devnet: an embedded local Stacks chain. Raw signed transactions in, the node's own admission rules and
 * rejection reasons, SIP-010 tokens with sbtc-token's semantics, batch-escrow preloaded and executed natively, and
 * the node and Hiro API routes over HTTP.
 * @module
 */
export { type AdmittedTransaction, MAX_NONCE_CHAINING, type Rejection } from './admission.js';
export { BLOCK_EVENTS_PATH, type BlockEvents } from './block-events.js';
export {
  type Block,
  type BroadcastResult,
  DevnetChain,
  type DevnetChainOptions,
  type DevnetStateJson,
  type DroppedStatus,
  type Fault,
  type TransactionRecord,
  type TransactionStatus,
} from './chain.js';
export type { BatchEscrow, EscrowStateJson } from './escrow.js';
export type { Execution, TransactionEvent } from './execution.js';
export {
  DEVNET_MNEMONIC,
  type DevnetAccount,
  ESCROW_DEPLOYMENTS,
  GENESIS_BALANCES,
  genesisAccounts,
} from './genesis.js';
export { createDevnetApp } from './http.js';
export { type Devnet, type MiningMode, type StartDevnetOptions, startDevnet } from './server.js';
export { type DevnetToken, registeredTokens, tokenAssetId } from './tokens.js';
