/**
 * Zod schemas for the node and API responses the chain client reads, and their conversion to the public types.
 * Objects are loose: a newer node or API adding fields is not an error. The client reads the small per-payment answers
 * (account, nonces, balances, fee rate, info) with the faster hand-written checks of `shape-checks.ts`; their schemas
 * here remain the specification those checks are tested against. Internal: not re-exported.
 * @module
 */
import { z } from 'zod';
import type { ChainEvent, ChainInfo, ClarityValueJson, IndexedTransaction } from './types.js';

const Decimal = z.string().regex(/^\d+$/, 'expected a decimal integer string');
/** A Clarity u128 as the node prints it: `0x` and up to 32 hex digits. */
const HexU128 = z.string().regex(/^0x[0-9a-fA-F]{1,32}$/, 'expected 0x-prefixed u128 hex');
const Txid = z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'expected a 64-hex-character txid');
const Count = z.number().int().nonnegative();
const ClarityValue = z.looseObject({ hex: z.string(), repr: z.string() });

/** `POST /v2/transactions` 200: the txid as a JSON string. */
export const BroadcastTxidSchema = Txid;

/** `POST /v2/transactions` 400 (stacks-core `MemPoolRejection::into_json`). */
export const RejectionSchema = z.looseObject({
  error: z.string().optional(),
  reason: z.string().min(1),
  reason_data: z.unknown().optional(),
  // Some servers send "" for bytes they could not decode: that names no transaction.
  txid: z.union([Txid, z.literal('').transform(() => undefined)]).optional(),
});

/** `GET /v2/accounts/:principal?proof=0`. */
export const AccountSchema = z.looseObject({ balance: HexU128, nonce: Count });

/** `GET /extended/v1/address/:principal/nonces`. */
export const NoncesSchema = z.looseObject({
  possible_next_nonce: Count,
  last_executed_tx_nonce: Count.nullable().optional(),
  detected_missing_nonces: z.array(Count).optional(),
});

/** `GET /extended/v1/address/:principal/balances`. */
export const BalancesSchema = z.looseObject({
  fungible_tokens: z.record(z.string(), z.looseObject({ balance: Decimal })).optional(),
});

/** `GET /v2/fees/transfer`: µSTX per byte, a bare JSON number. */
export const FeeRateSchema = Count;

/** `GET /v2/info`. */
export const InfoSchema = z
  .looseObject({
    network_id: Count,
    stacks_tip_height: Count,
    burn_block_height: Count,
    server_version: z.string(),
  })
  .transform(
    (info): ChainInfo => ({
      networkId: info.network_id,
      stacksTipHeight: info.stacks_tip_height,
      burnBlockHeight: info.burn_block_height,
      serverVersion: info.server_version,
    }),
  );

const AssetEventType = z.enum(['transfer', 'mint', 'burn']);
const EventBase = { event_index: Count };

const StxEvent = z
  .looseObject({
    ...EventBase,
    event_type: z.literal('stx_asset'),
    asset: z.looseObject({
      asset_event_type: AssetEventType,
      sender: z.string().nullish(),
      recipient: z.string().nullish(),
      amount: Decimal,
      memo: z.string().nullish(),
    }),
  })
  .transform(
    ({ event_index, asset }): ChainEvent => ({
      index: event_index,
      type: `stx_${asset.asset_event_type}`,
      ...principals(asset),
      amount: BigInt(asset.amount),
      ...(asset.memo ? { memo: asset.memo } : {}),
    }),
  );

const FtEvent = z
  .looseObject({
    ...EventBase,
    event_type: z.literal('fungible_token_asset'),
    asset: z.looseObject({
      asset_event_type: AssetEventType,
      asset_id: z.string(),
      sender: z.string().nullish(),
      recipient: z.string().nullish(),
      amount: Decimal,
    }),
  })
  .transform(
    ({ event_index, asset }): ChainEvent => ({
      index: event_index,
      type: `ft_${asset.asset_event_type}`,
      assetId: asset.asset_id,
      ...principals(asset),
      amount: BigInt(asset.amount),
    }),
  );

const NftEvent = z
  .looseObject({
    ...EventBase,
    event_type: z.literal('non_fungible_token_asset'),
    asset: z.looseObject({
      asset_event_type: AssetEventType,
      asset_id: z.string(),
      sender: z.string().nullish(),
      recipient: z.string().nullish(),
      value: ClarityValue,
    }),
  })
  .transform(
    ({ event_index, asset }): ChainEvent => ({
      index: event_index,
      type: `nft_${asset.asset_event_type}`,
      assetId: asset.asset_id,
      ...principals(asset),
      value: clarityValue(asset.value),
    }),
  );

const PrintEvent = z
  .looseObject({
    ...EventBase,
    event_type: z.literal('smart_contract_log'),
    contract_log: z.looseObject({
      contract_id: z.string(),
      topic: z.string(),
      value: ClarityValue,
    }),
  })
  .transform(
    ({ event_index, contract_log }): ChainEvent => ({
      index: event_index,
      type: 'print',
      contractId: contract_log.contract_id,
      topic: contract_log.topic,
      value: clarityValue(contract_log.value),
    }),
  );

const MODELLED_EVENTS: Readonly<Record<string, z.ZodType<ChainEvent>>> = {
  stx_asset: StxEvent,
  fungible_token_asset: FtEvent,
  non_fungible_token_asset: NftEvent,
  smart_contract_log: PrintEvent,
};

// Dispatch on event_type rather than a union, so a malformed ft_transfer fails with an error naming its field
// (instead of "Invalid input"), and never falls through to `other`.
const Event = z
  .looseObject({ ...EventBase, event_type: z.string() })
  .transform((event, ctx): ChainEvent => {
    const schema = Object.hasOwn(MODELLED_EVENTS, event.event_type)
      ? MODELLED_EVENTS[event.event_type]
      : undefined;
    if (!schema) {
      return { index: event.event_index, type: 'other', eventType: event.event_type, raw: event };
    }
    const parsed = schema.safeParse(event);
    if (parsed.success) return parsed.data;
    ctx.issues.push(...parsed.error.issues.map((issue) => ({ ...issue, input: undefined })));
    return z.NEVER;
  });

/**
 * `GET /extended/v1/tx/:txid`, mempool or mined. The fields it does not name are dropped, not copied: a mined
 * transaction carries twenty more, every status read parses one, and the caller keeps the JSON as received in `raw`.
 */
export const TransactionSchema = z
  .object({
    tx_id: Txid,
    tx_status: z.string().min(1),
    tx_type: z.string(),
    sender_address: z.string(),
    sponsored: z.boolean().nullish(),
    sponsor_address: z.string().nullish(),
    nonce: Count,
    fee_rate: Decimal,
    block_height: Count.nullish(),
    block_hash: z.string().nullish(),
    block_time: z.number().nullish(),
    burn_block_height: Count.nullish(),
    canonical: z.boolean().nullish(),
    replaced_by_tx_id: Txid.nullish(),
    tx_result: ClarityValue.nullish(),
    events: z.array(Event).nullish(),
    event_count: Count.nullish(),
  })
  // `raw` is added by the caller: it must be the JSON as received, before events are transformed.
  .transform((tx): Omit<IndexedTransaction, 'raw'> => {
    const events = tx.events ?? [];
    return {
      indexed: true,
      txid: normalizeTxid(tx.tx_id),
      status: tx.tx_status,
      txType: tx.tx_type,
      sender: tx.sender_address,
      ...(tx.sponsored !== false && tx.sponsor_address ? { sponsor: tx.sponsor_address } : {}),
      nonce: BigInt(tx.nonce),
      fee: BigInt(tx.fee_rate),
      ...(tx.block_height != null ? { blockHeight: tx.block_height } : {}),
      ...(tx.block_hash ? { blockHash: tx.block_hash } : {}),
      ...(tx.block_time != null ? { blockTime: tx.block_time } : {}),
      ...(tx.burn_block_height != null ? { burnBlockHeight: tx.burn_block_height } : {}),
      ...(tx.canonical != null ? { canonical: tx.canonical } : {}),
      ...(tx.replaced_by_tx_id ? { replacedBy: normalizeTxid(tx.replaced_by_tx_id) } : {}),
      ...(tx.tx_result ? { result: clarityValue(tx.tx_result) } : {}),
      events,
      eventCount: tx.event_count ?? events.length,
    };
  });

/**
 * `GET /extended/v1/tx/multiple?tx_id=…`: each requested txid (as sent, `0x…`) with `found` and, when found, the
 * transaction as `GET /extended/v1/tx/:txid` answers it (parsed on its own with {@link TransactionSchema}).
 */
export const MultipleTransactionsSchema = z.record(
  z.string(),
  z.looseObject({ found: z.boolean(), result: z.unknown() }),
);

/** Lower-case hex without `0x`, from a txid the schema has already checked. */
export function normalizeTxid(txid: string): string {
  return (txid.startsWith('0x') || txid.startsWith('0X') ? txid.slice(2) : txid).toLowerCase();
}

function principals(asset: { sender?: string | null; recipient?: string | null }) {
  return {
    ...(asset.sender ? { sender: asset.sender } : {}),
    ...(asset.recipient ? { recipient: asset.recipient } : {}),
  };
}

function clarityValue(value: { hex: string; repr: string }): ClarityValueJson {
  return { hex: value.hex, repr: value.repr };
}
