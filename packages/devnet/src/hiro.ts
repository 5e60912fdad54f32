/**
 * The JSON the node and Hiro's extended API answer with, built from devnet records. Field names and spellings follow
 * the real services, so the same client code reads both.
 * @module
 */
import {
  cvToHex,
  cvToString,
  PayloadType,
  PostConditionMode,
  wireToPostCondition,
} from '@stacks/transactions';
import { contractIdOf, u128Hex } from './admission.js';
import type { Block, DevnetChain, TransactionRecord } from './chain.js';

const TRANSFER_PARAMETERS = ['amount', 'sender', 'recipient', 'memo'];
/** batch-escrow's parameter names, as its source declares them. */
const ESCROW_PARAMETERS: Record<string, string[]> = {
  deposit: ['config', 'amount', 'token'],
  claim: ['claims', 'authorization'],
  settle: ['receiver', 'token'],
  refund: ['channel-id', 'amount', 'nonce', 'authorization', 'token'],
  'start-withdrawal': ['channel-id', 'amount'],
  'finish-withdrawal': ['channel-id', 'token'],
  'set-token-allowed': ['token', 'allowed'],
  'set-admin': ['new-admin'],
};
const ANCHOR_MODES: Record<number, string> = { 1: 'on_chain_only', 2: 'off_chain_only', 3: 'any' };

/** `GET /extended/v1/tx/:txid`. */
export function transactionJson(record: TransactionRecord): Record<string, unknown> {
  const { admitted } = record;
  const { tx } = admitted;
  const base: Record<string, unknown> = {
    tx_id: `0x${admitted.txid}`,
    nonce: Number(admitted.originNonce),
    fee_rate: admitted.fee.toString(),
    sender_address: admitted.origin,
    sponsored: admitted.sponsor !== undefined,
    ...(admitted.sponsor
      ? { sponsor_address: admitted.sponsor, sponsor_nonce: Number(admitted.sponsorNonce) }
      : {}),
    post_condition_mode: tx.postConditionMode === PostConditionMode.Allow ? 'allow' : 'deny',
    // NFT conditions carry their asset value as a bigint, which JSON cannot hold.
    post_conditions: tx.postConditions.values.map((condition) =>
      jsonSafe(wireToPostCondition(condition)),
    ),
    anchor_mode: ANCHOR_MODES[tx.anchorMode] ?? 'any',
    tx_status: record.status,
    receipt_time: record.receiptTime,
    receipt_time_iso: new Date(record.receiptTime * 1000).toISOString(),
    ...payloadJson(record),
  };
  if (record.replacedBy) base.replaced_by_tx_id = `0x${record.replacedBy}`;
  const { block, execution } = record;
  if (!block || !execution) return base;
  return {
    ...base,
    is_unanchored: false,
    block_hash: block.hash,
    parent_block_hash: block.parentHash,
    block_height: block.height,
    ...blockTimes(block),
    canonical: true,
    tx_index: record.txIndex ?? 0,
    tx_result: execution.result,
    event_count: execution.events.length,
    events: execution.events,
    microblock_canonical: true,
    microblock_hash: '0x',
    microblock_sequence: 2147483647,
    execution_cost_read_count: 0,
    execution_cost_read_length: 0,
    execution_cost_runtime: 0,
    execution_cost_write_count: 0,
    execution_cost_write_length: 0,
  };
}

function payloadJson(record: TransactionRecord): Record<string, unknown> {
  const { payload } = record.admitted.tx;
  if (payload.payloadType === PayloadType.TokenTransfer) {
    const memo = new TextEncoder().encode(payload.memo.content);
    const padded = new Uint8Array(34);
    padded.set(memo.subarray(0, 34));
    return {
      tx_type: 'token_transfer',
      token_transfer: {
        recipient_address: cvToString(payload.recipient),
        amount: payload.amount.toString(),
        memo: `0x${Buffer.from(padded).toString('hex')}`,
      },
    };
  }
  if (payload.payloadType === PayloadType.ContractCall) {
    const contractId = contractIdOf(payload.contractAddress, payload.contractName.content);
    const names = record.admitted.token
      ? TRANSFER_PARAMETERS
      : (ESCROW_PARAMETERS[payload.functionName.content] ?? []);
    return {
      tx_type: 'contract_call',
      contract_call: {
        contract_id: contractId,
        function_name: payload.functionName.content,
        function_signature: '',
        function_args: payload.functionArgs.map((arg, index) => ({
          hex: cvToHex(arg),
          repr: cvToString(arg),
          name: names[index] ?? `arg${index}`,
          type: arg.type,
        })),
      },
    };
  }
  return { tx_type: 'unknown' };
}

function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** `GET /v2/accounts/:principal`. */
export function accountJson(chain: DevnetChain, principal: string): Record<string, unknown> {
  return {
    balance: u128Hex(chain.state.stx(principal)),
    locked: u128Hex(0n),
    unlock_height: 0,
    nonce: Number(chain.state.nonce(principal)),
    balance_proof: '',
    nonce_proof: '',
  };
}

/**
 * `GET /extended/v1/address/:principal/nonces`. Like Hiro's API, it lists the missing and pending nonces only between
 * the last executed nonce and the last pending one: before an account's first transaction is mined, both lists are
 * empty whatever the mempool holds, and a gap at nonce 0 shows only as a `possible_next_nonce` past it.
 */
export function noncesJson(chain: DevnetChain, principal: string): Record<string, unknown> {
  const nonces = chain.nonces(principal);
  const { lastExecuted, lastMempool } = nonces;
  const between = (nonce: bigint) =>
    lastExecuted !== undefined &&
    lastMempool !== undefined &&
    nonce > lastExecuted &&
    nonce < lastMempool;
  return {
    last_mempool_tx_nonce: lastMempool === undefined ? null : Number(lastMempool),
    last_executed_tx_nonce: lastExecuted === undefined ? null : Number(lastExecuted),
    possible_next_nonce: Number(nonces.possibleNext),
    detected_missing_nonces: nonces.missing.filter(between).map(Number),
    detected_mempool_nonces: nonces.pending.filter(between).map(Number),
  };
}

/** `GET /extended/v1/address/:principal/balances`. */
export function balancesJson(chain: DevnetChain, principal: string): Record<string, unknown> {
  const totals = chain.state.stxTotals(principal);
  return {
    stx: {
      balance: chain.state.stx(principal).toString(),
      total_sent: totals.sent.toString(),
      total_received: totals.received.toString(),
      total_fees_sent: totals.fees.toString(),
      total_miner_rewards_received: '0',
      lock_tx_id: '',
      locked: '0',
      lock_height: 0,
      burnchain_lock_height: 0,
      burnchain_unlock_height: 0,
    },
    fungible_tokens: Object.fromEntries(
      chain.state.tokensOf(principal).map((assetId) => {
        const tokenTotals = chain.state.tokenTotals(assetId, principal);
        return [
          assetId,
          {
            balance: chain.state.token(assetId, principal).toString(),
            total_sent: tokenTotals.sent.toString(),
            total_received: tokenTotals.received.toString(),
          },
        ];
      }),
    ),
    non_fungible_tokens: {},
  };
}

/** A block as the API's `block` event pushes it (the extended API's `Block`, as far as the devnet knows one). */
export function blockJson(block: Block): Record<string, unknown> {
  return {
    canonical: true,
    height: block.height,
    hash: block.hash,
    index_block_hash: block.hash,
    parent_block_hash: block.parentHash,
    ...blockTimes(block),
    txs: block.txids.map((txid) => `0x${txid}`),
  };
}

/** A block's times and burn height, as both a transaction and a block carry them. */
function blockTimes(block: Block): Record<string, unknown> {
  return {
    block_time: block.time,
    block_time_iso: new Date(block.time * 1000).toISOString(),
    burn_block_height: block.burnBlockHeight,
    burn_block_time: block.burnBlockTime,
    burn_block_time_iso: new Date(block.burnBlockTime * 1000).toISOString(),
  };
}

/** `GET /v2/info`. */
export function infoJson(chain: DevnetChain): Record<string, unknown> {
  const tip = chain.tip;
  return {
    peer_version: 4207599116,
    pox_consensus: '0x00',
    burn_block_height: chain.burnBlockHeight,
    stable_pox_consensus: '0x00',
    stable_burn_block_height: chain.burnBlockHeight,
    server_version: 'x402-stacks-devnet/0.1.0 (testnet chain id)',
    network_id: 2147483648,
    parent_network_id: 3669344250,
    stacks_tip_height: chain.height,
    stacks_tip: tip?.hash ?? `0x${'00'.repeat(32)}`,
    stacks_tip_consensus_hash: '0x00',
    genesis_chainstate_hash: `0x${'00'.repeat(32)}`,
    unanchored_tip: null,
    unanchored_seq: null,
    tenure_height: chain.burnBlockHeight,
    exit_at_block_height: null,
    is_fully_synced: true,
  };
}
