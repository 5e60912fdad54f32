/**
 * The devnet chain: mempool, blocks, faults and state, over the node's admission rules and native token execution.
 * No HTTP here; `http.ts` serves this over the node's routes.
 * @module
 */
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@stacks/common';
import { PayloadType } from '@stacks/transactions';
import {
  type AdmittedTransaction,
  admit,
  decodeRaw,
  type Rejection,
  readFacts,
} from './admission.js';
import { ByteArena } from './arena.js';
import { BatchEscrow, type EscrowStateJson } from './escrow.js';
import {
  type Execution,
  execute,
  type ForcedAbort,
  restoreExecution,
  type TransactionEvent,
} from './execution.js';
import {
  type DevnetAccount,
  ESCROW_DEPLOYMENTS,
  GENESIS_BALANCES,
  genesisAccounts,
} from './genesis.js';
import { AccountState, type AccountStateJson } from './state.js';
import { type DevnetToken, registeredTokens, type TokenOptions, tokenAssetId } from './tokens.js';

/**
 * Hiro's transaction statuses: `pending` in the mempool, the three outcomes of a mined one, or how it was dropped.
 * @example
 * ```ts
 * const status: TransactionStatus | undefined = chain.transaction(txid)?.status; // 'pending' until mined
 * ```
 */
export type TransactionStatus =
  | 'pending'
  | 'success'
  | 'abort_by_response'
  | 'abort_by_post_condition'
  | DroppedStatus;

/**
 * The ways a transaction leaves the mempool without being mined.
 * @example
 * ```ts
 * chain.injectFault(txid, { kind: 'drop', status: 'dropped_too_expensive' });
 * ```
 */
export type DroppedStatus =
  | 'dropped_replace_by_fee'
  | 'dropped_replace_across_fork'
  | 'dropped_too_expensive'
  | 'dropped_stale_garbage_collect'
  | 'dropped_problematic';

/**
 * What `POST /v2/transactions` answers: the txid when accepted, or the node's rejection.
 * @example
 * ```ts
 * const result = chain.broadcast(raw);
 * if (!result.accepted) throw new Error(`refused: ${result.reason}`);
 * ```
 */
export type BroadcastResult =
  | { accepted: true; txid: string }
  | ({ accepted: false; txid?: string } & Rejection);

/**
 * A mined block.
 * @example
 * ```ts
 * const block = chain.mineBlock();
 * if (block) console.log(block.height, block.txids.length);
 * ```
 */
export type Block = {
  readonly height: number;
  readonly hash: string;
  readonly parentHash: string;
  /** Unix seconds. */
  readonly time: number;
  readonly burnBlockHeight: number;
  readonly burnBlockTime: number;
  readonly txids: readonly string[];
};

/**
 * Everything known about one transaction.
 * @example
 * ```ts
 * const record = chain.transaction(txid);
 * if (record?.status === 'success') console.log(record.block?.height, record.execution?.events);
 * ```
 */
export type TransactionRecord = {
  readonly admitted: AdmittedTransaction;
  status: TransactionStatus;
  /** Unix seconds when the mempool took it. */
  readonly receiptTime: number;
  block?: Block;
  txIndex?: number;
  execution?: Execution;
  replacedBy?: string;
  fault?: { delayUntilHeight?: number; abort?: ForcedAbort };
};

/**
 * A fault to inject: by txid, or on the next transaction the mempool accepts.
 * @example
 * ```ts
 * chain.injectFault('next', { kind: 'delay', blocks: 3 });
 * ```
 */
export type Fault =
  | { kind: 'delay'; blocks: number }
  | { kind: 'drop'; status?: DroppedStatus }
  | { kind: 'abort'; status?: ForcedAbort };

/**
 * How a chain starts: how many genesis accounts it funds, which sBTC id it registers, the burn block cadence and the
 * clock. Every option has a default, so tests set only what they check.
 * @example
 * ```ts
 * const chain = new DevnetChain({ accounts: 3, burnBlockEvery: 1, clock: () => 1_700_000_000_000 });
 * ```
 */
export type DevnetChainOptions = {
  /** How many genesis accounts to fund. Default 10. */
  accounts?: number;
  tokens?: TokenOptions;
  /** A burn (Bitcoin) block every this many Stacks blocks. Default 5, about Nakamoto's cadence at 2 s blocks. */
  burnBlockEvery?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  clock?: () => number;
};

const GENESIS_HASH = `0x${'00'.repeat(32)}`;

/**
 * An in-memory Stacks chain that takes raw signed transactions.
 * @example
 * ```ts
 * const chain = new DevnetChain();
 * const result = chain.broadcast(hexToBytes(signedHex));
 * chain.mineBlock();
 * chain.transaction(result.txid)?.status; // 'success'
 * ```
 */
export class DevnetChain {
  readonly accounts: readonly DevnetAccount[];
  readonly tokens: ReadonlyMap<string, DevnetToken>;
  /** batch-escrow, preloaded at genesis at its testnet and mainnet ids, by contract id. */
  readonly escrows: ReadonlyMap<string, BatchEscrow>;
  readonly #escrowIds: ReadonlySet<string>;
  readonly #burnBlockEvery: number;
  readonly #clock: () => number;
  #state = new AccountState();
  #transactions = new Map<string, TransactionRecord>();
  #mempool = new Map<string, TransactionRecord>();
  /** Pending transactions by `<principal>:<nonce>`, as origin and as sponsor: conflicts are found in O(1). */
  #pendingByNonce = new Map<string, TransactionRecord>();
  #blocks: Block[] = [];
  readonly #arena = new ByteArena();
  #nextFaults: Fault[] = [];
  #stalled = false;
  readonly #blockListeners = new Set<(block: Block) => void>();

  constructor(options: DevnetChainOptions = {}) {
    this.accounts = genesisAccounts(options.accounts ?? 10);
    this.tokens = new Map(
      registeredTokens(options.tokens).map((token) => [token.contractId, token]),
    );
    this.escrows = new Map(
      ESCROW_DEPLOYMENTS.map(({ contractId, admin }) => [
        contractId,
        new BatchEscrow(contractId, admin, [...this.tokens.keys()]),
      ]),
    );
    this.#escrowIds = new Set(this.escrows.keys());
    this.#burnBlockEvery = Math.max(1, options.burnBlockEvery ?? 5);
    this.#clock = options.clock ?? Date.now;
    for (const { address } of this.accounts) {
      this.#state.credit(address, GENESIS_BALANCES.stx);
      for (const token of this.tokens.values()) {
        this.#state.creditToken(tokenAssetId(token), address, GENESIS_BALANCES[token.symbol]);
      }
    }
  }

  /** Confirmed balances and nonces. */
  get state(): AccountState {
    return this.#state;
  }

  get height(): number {
    return this.#blocks.length;
  }

  get tip(): Block | undefined {
    return this.#blocks.at(-1);
  }

  get burnBlockHeight(): number {
    return this.#burnHeightAt(this.height);
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  /** Pending transactions, oldest first. */
  get mempool(): TransactionRecord[] {
    return [...this.#mempool.values()];
  }

  block(height: number): Block | undefined {
    return this.#blocks[height - 1];
  }

  transaction(txid: string): TransactionRecord | undefined {
    return this.#transactions.get(normalizeTxid(txid));
  }

  /**
   * Submits raw transaction bytes: the node's admission rules, then the mempool. A transaction already pending is
   * accepted again with the same txid.
   */
  broadcast(raw: Uint8Array): BroadcastResult {
    const decoded = decodeRaw(raw);
    if ('reason' in decoded) return { accepted: false, ...decoded };
    const { tx, txid } = decoded;
    if (this.#mempool.has(txid)) return { accepted: true, txid };
    const verdict = admit(raw, tx, txid, {
      state: this.#state,
      tokens: this.tokens,
      escrows: this.#escrowIds,
      pendingAt: (principal, nonce) => this.#pendingAt(principal, nonce),
    });
    if ('reason' in verdict) return { accepted: false, txid, ...verdict };

    for (const replaced of verdict.replaces) this.#drop(replaced, 'dropped_replace_by_fee', txid);
    const record: TransactionRecord = {
      admitted: verdict.admitted,
      status: 'pending',
      receiptTime: Math.floor(this.#clock() / 1000),
    };
    verdict.admitted.store(this.#arena);
    this.#transactions.set(txid, record);
    this.#addPending(record);
    const fault = this.#nextFaults.shift();
    if (fault) this.injectFault(txid, fault);
    return { accepted: true, txid };
  }

  /**
   * Mines one block from the mempool: every transaction whose nonces are next in line, in arrival order, including
   * chains of them. Returns undefined while mining is stalled.
   */
  mineBlock(): Block | undefined {
    if (this.#stalled) return undefined;
    const height = this.height + 1;
    const now = this.#clock();
    const time = Math.max(Math.floor(now / 1000), this.tip?.time ?? 0);
    const parentHash = this.tip?.hash ?? GENESIS_HASH;
    const included: TransactionRecord[] = [];
    const context = {
      escrows: this.escrows,
      tokens: this.tokens,
      burnBlockHeight: this.#burnHeightAt(height),
    };
    for (let progress = true; progress; ) {
      progress = false;
      for (const record of this.#mempool.values()) {
        if (!this.#minable(record, height)) continue;
        this.#removePending(record);
        progress = true;
        if (isTransferWithPostConditions(record.admitted)) {
          // Block processing refuses post-conditions on a token transfer; the miner drops it unmined.
          record.status = 'dropped_problematic';
          record.admitted.release();
          continue;
        }
        record.execution = execute(record.admitted, this.#state, record.fault?.abort, context);
        record.status = record.execution.status;
        record.admitted.release();
        record.txIndex = included.length;
        included.push(record);
      }
    }
    const txids = included.map((record) => record.admitted.txid);
    const hash = `0x${createHash('sha256')
      .update(`${height}:${parentHash}:${txids.join(',')}`)
      .digest('hex')}`;
    const burnBlockHeight = this.#burnHeightAt(height);
    const block: Block = {
      height,
      hash,
      parentHash,
      time,
      burnBlockHeight,
      burnBlockTime: time,
      txids,
    };
    this.#blocks.push(block);
    for (const record of included) record.block = block;
    for (const listener of this.#blockListeners) {
      try {
        listener(block);
      } catch {
        // A listener's fault never stops the chain.
      }
    }
    return block;
  }

  /**
   * Calls `listener` with every block mined from now on, right after it is recorded (its transactions readable).
   * @returns the function that stops it.
   * @example
   * ```ts
   * const stop = chain.onBlock((block) => console.log(block.height, block.txids));
   * ```
   */
  onBlock(listener: (block: Block) => void): () => void {
    const own = (block: Block) => listener(block);
    this.#blockListeners.add(own);
    return () => {
      this.#blockListeners.delete(own);
    };
  }

  /** Mines `count` blocks (fewer if stalled) and returns them. */
  mine(count = 1): Block[] {
    const blocks: Block[] = [];
    for (let i = 0; i < count; i++) {
      const block = this.mineBlock();
      if (!block) break;
      blocks.push(block);
    }
    return blocks;
  }

  /** Stops or resumes mining. */
  stall(stalled: boolean): void {
    this.#stalled = stalled;
  }

  /**
   * Injects a fault into a pending transaction, or (`txid` = `'next'`) into the next one accepted.
   * - `delay`: not mined for `blocks` more blocks;
   * - `drop`: leaves the mempool with a `dropped_*` status (default `dropped_stale_garbage_collect`);
   * - `abort`: mined, but ends `abort_by_response` (default) or `abort_by_post_condition`; fee and nonce are consumed.
   * @returns false when the transaction is not pending.
   */
  injectFault(txid: string | 'next', fault: Fault): boolean {
    if (txid === 'next') {
      this.#nextFaults.push(fault);
      return true;
    }
    const record = this.#mempool.get(normalizeTxid(txid));
    if (!record) return false;
    if (fault.kind === 'drop') {
      this.#drop(record.admitted.txid, fault.status ?? 'dropped_stale_garbage_collect');
    } else if (fault.kind === 'delay') {
      record.fault = {
        ...record.fault,
        delayUntilHeight: this.height + 1 + Math.max(0, fault.blocks),
      };
    } else {
      record.fault = { ...record.fault, abort: fault.status ?? 'abort_by_response' };
    }
    return true;
  }

  /** Credits STX and tokens to any principal (the faucet). Amounts are atomic units. */
  fund(principal: string, amounts: { stx?: bigint; sBTC?: bigint; USDCx?: bigint }): void {
    if (amounts.stx) this.#state.credit(principal, amounts.stx);
    for (const token of this.tokens.values()) {
      const amount = amounts[token.symbol];
      if (amount) this.#state.creditToken(tokenAssetId(token), principal, amount);
    }
  }

  /** Hiro's nonce view of a principal, mempool included. */
  nonces(principal: string): {
    lastExecuted: bigint | undefined;
    lastMempool: bigint | undefined;
    possibleNext: bigint;
    missing: bigint[];
    pending: bigint[];
  } {
    const confirmed = this.#state.nonce(principal);
    const pending = this.mempool
      .flatMap(({ admitted }) => [
        admitted.origin === principal ? admitted.originNonce : undefined,
        admitted.sponsor === principal ? admitted.sponsorNonce : undefined,
      ])
      .filter((nonce): nonce is bigint => nonce !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const lastMempool = pending.at(-1);
    const possibleNext =
      lastMempool !== undefined && lastMempool >= confirmed ? lastMempool + 1n : confirmed;
    const missing: bigint[] = [];
    for (let nonce = confirmed; lastMempool !== undefined && nonce < lastMempool; nonce++) {
      if (!pending.includes(nonce)) missing.push(nonce);
    }
    return {
      lastExecuted: confirmed > 0n ? confirmed - 1n : undefined,
      lastMempool,
      possibleNext,
      missing,
      pending,
    };
  }

  /** The whole chain as JSON: balances, blocks and every transaction's raw bytes and outcome. */
  toJSON(): DevnetStateJson {
    return {
      version: 1,
      state: this.#state.toJSON(),
      escrows: Object.fromEntries([...this.escrows].map(([id, escrow]) => [id, escrow.toJSON()])),
      blocks: this.#blocks.map((block) => ({ ...block, txids: [...block.txids] })),
      transactions: [...this.#transactions.values()].map((record) => ({
        raw: bytesToHex(record.admitted.raw),
        status: record.status,
        receiptTime: record.receiptTime,
        ...(record.block ? { height: record.block.height } : {}),
        ...(record.txIndex === undefined ? {} : { txIndex: record.txIndex }),
        ...(record.execution
          ? {
              execution: {
                status: record.execution.status,
                result: record.execution.result,
                ...storedEvents(record.execution),
              },
            }
          : {}),
        ...(record.replacedBy ? { replacedBy: record.replacedBy } : {}),
        ...(record.fault ? { fault: record.fault } : {}),
      })),
    };
  }

  /**
   * Restores a chain saved with `toJSON()`. Transactions are decoded again from their bytes; balances come from the
   * saved state, so a restarted devnet keeps them exactly.
   */
  static fromJSON(json: DevnetStateJson, options: DevnetChainOptions = {}): DevnetChain {
    if (json?.version !== 1) throw new Error('unsupported devnet state file version');
    const chain = new DevnetChain(options);
    chain.#state = AccountState.fromJSON(json.state);
    // A state saved before the escrow existed keeps its genesis storage.
    for (const [id, saved] of Object.entries(json.escrows ?? {}))
      chain.escrows.get(id)?.load(saved);
    chain.#blocks = json.blocks.map((block) => ({ ...block }));
    for (const saved of json.transactions) {
      const raw = hexToBytes(saved.raw);
      const decoded = decodeRaw(raw);
      if ('reason' in decoded)
        throw new Error(`devnet state holds an undecodable transaction: ${decoded.reason}`);
      const admitted = readFacts(raw, decoded.tx, decoded.txid, chain.tokens);
      const record: TransactionRecord = {
        admitted,
        status: saved.status,
        receiptTime: saved.receiptTime,
        ...(saved.height ? { block: chain.block(saved.height)! } : {}),
        ...(saved.txIndex === undefined ? {} : { txIndex: saved.txIndex }),
        ...(saved.execution ? { execution: restoreExecution(saved.execution, admitted) } : {}),
        ...(saved.replacedBy ? { replacedBy: saved.replacedBy } : {}),
        ...(saved.fault ? { fault: saved.fault } : {}),
      };
      admitted.store(chain.#arena);
      chain.#transactions.set(admitted.txid, record);
      if (record.status === 'pending') chain.#addPending(record);
      else admitted.release();
    }
    return chain;
  }

  #minable(record: TransactionRecord, height: number): boolean {
    const { admitted, fault } = record;
    if (fault?.delayUntilHeight !== undefined && height < fault.delayUntilHeight) return false;
    if (this.#state.nonce(admitted.origin) !== admitted.originNonce) return false;
    if (admitted.sponsor && this.#state.nonce(admitted.sponsor) !== admitted.sponsorNonce)
      return false;
    // A payer who can no longer cover the fee waits in the mempool, as on a real node.
    return this.#state.stx(admitted.feePayer) >= admitted.fee;
  }

  #pendingAt(principal: string, nonce: bigint): { txid: string; fee: bigint } | undefined {
    const record = this.#pendingByNonce.get(`${principal}:${nonce}`);
    return record && { txid: record.admitted.txid, fee: record.admitted.fee };
  }

  #addPending(record: TransactionRecord): void {
    this.#mempool.set(record.admitted.txid, record);
    for (const key of pendingKeys(record.admitted)) this.#pendingByNonce.set(key, record);
  }

  #removePending(record: TransactionRecord): void {
    this.#mempool.delete(record.admitted.txid);
    for (const key of pendingKeys(record.admitted)) {
      if (this.#pendingByNonce.get(key) === record) this.#pendingByNonce.delete(key);
    }
  }

  #drop(txid: string, status: DroppedStatus, replacedBy?: string): void {
    const record = this.#mempool.get(txid);
    if (!record) return;
    this.#removePending(record);
    record.status = status;
    record.admitted.release();
    if (replacedBy) record.replacedBy = replacedBy;
  }

  #burnHeightAt(height: number): number {
    return Math.floor(height / this.#burnBlockEvery);
  }
}

/**
 * The saved form of a devnet, what a state file holds: a restarted devnet reads it back unchanged.
 * @example
 * ```ts
 * const saved: DevnetStateJson = chain.toJSON();
 * const restored = DevnetChain.fromJSON(saved);
 * ```
 */
export type DevnetStateJson = {
  version: 1;
  state: AccountStateJson;
  /** batch-escrow's storage per deployment; absent in states saved before it was preloaded. */
  escrows?: Record<string, EscrowStateJson>;
  blocks: Block[];
  transactions: {
    raw: string;
    status: TransactionStatus;
    receiptTime: number;
    height?: number;
    txIndex?: number;
    execution?: Pick<Execution, 'status' | 'result'> & { events?: TransactionEvent[] };
    replacedBy?: string;
    fault?: TransactionRecord['fault'];
  }[];
};

/** Events that cannot be rebuilt from the transaction (batch-escrow's) are saved with it. */
function storedEvents(execution: Execution): { events?: TransactionEvent[] } {
  const stored = (execution as { stored?: TransactionEvent[] }).stored;
  return stored ? { events: stored } : {};
}

function pendingKeys(admitted: AdmittedTransaction): string[] {
  const keys = [`${admitted.origin}:${admitted.originNonce}`];
  if (admitted.sponsor) keys.push(`${admitted.sponsor}:${admitted.sponsorNonce}`);
  return keys;
}

function isTransferWithPostConditions(admitted: AdmittedTransaction): boolean {
  return (
    admitted.tx.payload.payloadType === PayloadType.TokenTransfer &&
    admitted.tx.postConditions.values.length > 0
  );
}

function normalizeTxid(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
