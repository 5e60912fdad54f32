/**
 * What the chain client returns. Money, nonces and fees are `bigint`; txids are lower-case hex without `0x`.
 * @module
 */

/**
 * The node took the transaction into its mempool (or already had it: a repeated broadcast also answers 200).
 * @example
 * ```ts
 * const result: BroadcastAccepted = { accepted: true, txid: 'e161…09f2' };
 * ```
 */
export type BroadcastAccepted = {
  readonly accepted: true;
  readonly txid: string;
};

/**
 * The node refused the transaction. `reason` is the node's own string (`BadNonce`, `ConflictingNonceInMempool`,
 * `NotEnoughFunds`, `FeeTooLow`, …), typed as `string` because nodes add reasons over time; `reasonData` is the
 * node's `reason_data` as sent (u128 values stay `0x…` hex strings).
 * @example
 * ```ts
 * const result: BroadcastRejected = {
 *   accepted: false,
 *   reason: 'NotEnoughFunds',
 *   reasonData: { expected: '0x0000000000000000000000000000d2f0', actual: '0x00000000000000000000000000000064' },
 *   txid: 'e161…09f2',
 * };
 * ```
 */
export type BroadcastRejected = {
  readonly accepted: false;
  readonly reason: string;
  readonly reasonData?: unknown;
  /** The node's txid for the refused transaction, or the one computed from the bytes sent. */
  readonly txid?: string;
};

/**
 * The outcome of `ChainClient.broadcast`: never an exception for a node rejection.
 * @example
 * ```ts
 * const result: BroadcastResult = await chain.broadcast(hex);
 * if (!result.accepted && result.reason === 'ConflictingNonceInMempool') console.log('double spend attempt');
 * ```
 */
export type BroadcastResult = BroadcastAccepted | BroadcastRejected;

/**
 * A principal's nonces, mempool included (`GET /extended/v1/address/:principal/nonces`).
 * @example
 * ```ts
 * const nonces: AccountNonces = { confirmedNext: 7n, possibleNext: 10n, missing: [8n] };
 * // 7 and 9 are pending, 8 is missing: nothing above 8 can be mined until something fills it.
 * ```
 */
export type AccountNonces = {
  /** One past the last confirmed transaction's nonce: the nonce the next block needs. */
  readonly confirmedNext: bigint;
  /** One past the highest nonce in the mempool, or `confirmedNext` when none is pending. */
  readonly possibleNext: bigint;
  /** Nonces between `confirmedNext` and the highest pending one that no pending transaction holds, lowest first. */
  readonly missing: readonly bigint[];
};

/**
 * A principal's confirmed account state (`GET /v2/accounts/:principal`).
 * @example
 * ```ts
 * const account: AccountState = { balance: 1_000_000n, nonce: 7n };
 * ```
 */
export type AccountState = {
  /** µSTX, confirmed, locked STX excluded. */
  readonly balance: bigint;
  /** The nonce the principal's next transaction needs, mempool not counted. */
  readonly nonce: bigint;
};

/**
 * A transaction status as the Hiro API names it. Mempool: `pending` and the `dropped_*` family. Mined: `success`,
 * `abort_by_response` (a Clarity `(err …)`; fee and nonce are still spent), `abort_by_post_condition`,
 * `problematic_skipped`. Any other string a newer API sends passes through.
 * @example
 * ```ts
 * const done = (status: ChainTransactionStatus) => status !== 'pending';
 * ```
 */
export type ChainTransactionStatus =
  | 'pending'
  | 'success'
  | 'abort_by_response'
  | 'abort_by_post_condition'
  | 'dropped_replace_by_fee'
  | 'dropped_replace_across_fork'
  | 'dropped_too_expensive'
  | 'dropped_stale_garbage_collect'
  | 'dropped_problematic'
  | 'problematic_skipped'
  | (string & {});

/**
 * A Clarity value as the API shows it: consensus hex and a readable form.
 * @example
 * ```ts
 * const value: ClarityValueJson = { hex: '0x0703', repr: '(ok true)' };
 * ```
 */
export type ClarityValueJson = { readonly hex: string; readonly repr: string };

/**
 * One event of a mined transaction, normalized from the API's `events[]`. Amounts are `bigint`; an empty sender
 * (a mint) or recipient (a burn) is left out. Event kinds this client does not model come as `other` with the raw
 * JSON.
 * @example
 * ```ts
 * const event: ChainEvent = {
 *   index: 0,
 *   type: 'ft_transfer',
 *   assetId: 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token::sbtc-token',
 *   sender: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
 *   recipient: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
 *   amount: 1000n,
 * };
 * ```
 */
export type ChainEvent =
  | {
      readonly index: number;
      readonly type: 'stx_transfer' | 'stx_mint' | 'stx_burn';
      readonly sender?: string;
      readonly recipient?: string;
      readonly amount: bigint;
      /** The transfer memo, `0x…` hex, when the API reports one. */
      readonly memo?: string;
    }
  | {
      readonly index: number;
      readonly type: 'ft_transfer' | 'ft_mint' | 'ft_burn';
      /** `<contract id>::<asset name>`. */
      readonly assetId: string;
      readonly sender?: string;
      readonly recipient?: string;
      readonly amount: bigint;
    }
  | {
      readonly index: number;
      readonly type: 'nft_transfer' | 'nft_mint' | 'nft_burn';
      readonly assetId: string;
      readonly sender?: string;
      readonly recipient?: string;
      readonly value: ClarityValueJson;
    }
  | {
      readonly index: number;
      /** A `print` from a contract (`smart_contract_log`), such as a SIP-010 memo. */
      readonly type: 'print';
      readonly contractId: string;
      readonly topic: string;
      readonly value: ClarityValueJson;
    }
  | {
      readonly index: number;
      readonly type: 'other';
      /** The API's `event_type`, for example `stx_lock`. */
      readonly eventType: string;
      readonly raw: unknown;
    };

/**
 * A transaction the API knows, in the mempool or mined.
 * @example
 * ```ts
 * const tx = await chain.getTransaction(txid);
 * if (tx?.indexed && tx.status === 'success') console.log(tx.blockHeight, tx.fee); // 120 180n
 * ```
 */
export type IndexedTransaction = {
  readonly indexed: true;
  readonly txid: string;
  readonly status: ChainTransactionStatus;
  /** `token_transfer`, `contract_call`, `smart_contract`, … */
  readonly txType: string;
  readonly sender: string;
  /** The sponsor, for a sponsored transaction. */
  readonly sponsor?: string;
  readonly nonce: bigint;
  /** The fee in µSTX (the API's `fee_rate`, which despite its name is the whole fee). */
  readonly fee: bigint;
  readonly blockHeight?: number;
  readonly blockHash?: string;
  /** Unix seconds. */
  readonly blockTime?: number;
  readonly burnBlockHeight?: number;
  /** False when the block is no longer on the canonical fork; its status then says nothing. */
  readonly canonical?: boolean;
  /** For `dropped_replace_by_fee`: the txid of the replacement. */
  readonly replacedBy?: string;
  /** The Clarity result of a mined transaction, `(ok …)` or `(err …)`. */
  readonly result?: ClarityValueJson;
  readonly events: readonly ChainEvent[];
  /** All events of the transaction; `events` may hold fewer (the API pages them). */
  readonly eventCount: number;
  /** The API's JSON, as received. */
  readonly raw: Readonly<Record<string, unknown>>;
};

/**
 * A transaction this client broadcast moments ago that the API has not indexed yet (it answered 404 within
 * `notFoundGraceMs` of the broadcast). Treat it as pending; nothing else is known about it yet.
 * @example
 * ```ts
 * const tx = await chain.getTransaction(txid);
 * if (tx && !tx.indexed) console.log(`broadcast ${Date.now() - tx.broadcastAt} ms ago, not indexed yet`);
 * ```
 */
export type UnindexedTransaction = {
  readonly indexed: false;
  readonly txid: string;
  readonly status: 'pending';
  /** When this client broadcast it (milliseconds, from the client's clock). */
  readonly broadcastAt: number;
};

/**
 * What `ChainClient.getTransaction` finds: an indexed transaction, or one of ours that is not indexed yet.
 * @example
 * ```ts
 * const tx: ChainTransaction | null = await chain.getTransaction(txid);
 * const pending = tx?.status === 'pending'; // true for both indexed and unindexed mempool transactions
 * ```
 */
export type ChainTransaction = IndexedTransaction | UnindexedTransaction;

/**
 * The node's `/v2/info`, reduced to what a payment service needs.
 * @example
 * ```ts
 * const info: ChainInfo = await chain.getInfo();
 * info.networkId; // 2147483648 on testnet
 * ```
 */
export type ChainInfo = {
  /** 1 on mainnet, 2147483648 on testnet and devnets. */
  readonly networkId: number;
  readonly stacksTipHeight: number;
  readonly burnBlockHeight: number;
  readonly serverVersion: string;
};
