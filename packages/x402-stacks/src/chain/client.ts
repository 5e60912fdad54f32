/**
 * The one HTTP client for a Stacks node plus the Hiro extended API, used by the facilitator, the client library and
 * the devnet tests alike. Every route it calls is in `PATHS`; every request goes through `createRequest`.
 * @module
 */
import { parsePrincipal } from '../stacks/address.js';
import { fromHex } from '../stacks/bytes.js';
import { InvalidTransactionIdError } from '../stacks/errors.js';
import { resolveNetwork, type StacksNetworkInput } from '../stacks/networks.js';
import { transactionIdOf } from '../stacks/signature.js';
import { createBlockFeed, type MinedBlock, type StopWatching } from './block-feed.js';
import { ChainRequestError, InvalidChainInputError } from './errors.js';
import { createFetchExchange } from './fetch-exchange.js';
import { createNodeExchange } from './node-exchange.js';
import { redactUrl } from './redact.js';
import { channelUrl, createRequest, credentialHeaders, type Request } from './request.js';
import {
  BroadcastTxidSchema,
  MultipleTransactionsSchema,
  normalizeTxid,
  RejectionSchema,
  TransactionSchema,
} from './schemas.js';
import {
  checkAccount,
  checkBalances,
  checkCallRead,
  checkFeeRate,
  checkInfo,
  checkNonces,
} from './shape-checks.js';
import type {
  AccountNonces,
  AccountState,
  BroadcastRejected,
  BroadcastResult,
  ChainInfo,
  ChainTransaction,
} from './types.js';

/** Every route the client calls. Principals and txids arrive validated; they are encoded anyway. */
const PATHS = {
  broadcast: '/v2/transactions',
  info: '/v2/info',
  feeRate: '/v2/fees/transfer',
  account: (principal: string) => `/v2/accounts/${encodeURIComponent(principal)}?proof=0`,
  transaction: (txid: string) => `/extended/v1/tx/0x${txid}`,
  transactions: (txids: readonly string[]) =>
    `/extended/v1/tx/multiple?${txids.map((txid) => `tx_id=0x${txid}`).join('&')}`,
  nonces: (principal: string) => `/extended/v1/address/${encodeURIComponent(principal)}/nonces`,
  balances: (principal: string) => `/extended/v1/address/${encodeURIComponent(principal)}/balances`,
  callRead: (address: string, name: string, fn: string) =>
    `/v2/contracts/call-read/${encodeURIComponent(address)}/${encodeURIComponent(name)}/${encodeURIComponent(fn)}`,
  /** The WebSocket channel (JSON-RPC 2.0), for `watchBlocks`. */
  events: '/extended/v1/ws',
} as const;

/** Txids per `tx/multiple` read: about 3.6 kB of query string, well inside every proxy's URL limit. */
const TXIDS_PER_READ = 50;

// Rejections about the bytes themselves: the hash of bytes that do not decode is no transaction's id.
const UNDECODABLE_REASONS: ReadonlySet<string> = new Set(['Serialization', 'Deserialization']);

/**
 * Options of {@link createChainClient}.
 * @example
 * ```ts
 * const options: ChainClientOptions = { network: 'testnet', url: 'http://127.0.0.1:3999', timeoutMs: 5_000 };
 * ```
 */
export type ChainClientOptions = {
  /** `'mainnet' | 'testnet'`, a CAIP-2 id, or a `StacksNetwork`. Its `apiUrl` is the default base URL. */
  network: StacksNetworkInput;
  /**
   * Base URL of a Stacks node with the Hiro extended API (a path prefix is kept). `user:pass@` credentials are sent
   * as Basic authorization and never shown. Default: the network's `apiUrl`.
   */
  url?: string;
  /** Sent as `x-api-key` on every request, to whatever host `url` names. */
  apiKey?: string;
  /**
   * Sends every request through this `fetch` instead. Default: node's `http`/`https` on a keep-alive agent (at most
   * 64 sockets) where the runtime has them (Node, Bun, Deno), else the global `fetch` (browsers, workers).
   */
  fetch?: typeof globalThis.fetch;
  /** Per request, including reading the body. Default 10 000. */
  timeoutMs?: number;
  /** Retries after the first attempt (429 always; 502/503/504, timeouts and network errors for reads). Default 3. */
  maxRetries?: number;
  /** How long after our own broadcast a 404 from the API means "not indexed yet" rather than "unknown". Default 30 000. */
  notFoundGraceMs?: number;
  /** Milliseconds clock, for the grace period and HTTP-date `retry-after`. Default `Date.now`. */
  now?: () => number;
  /** Waits between retries. Default a `setTimeout` promise; tests pass one that records and returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Whether the client offers {@link ChainClient.watchBlocks}: new blocks pushed over the API's WebSocket channel
   * (`/extended/v1/ws`), with the same credentials as every request. Nothing connects until something watches.
   * Default `true`, or `false` when `fetch` is given (the channel would not go through it).
   */
  blockEvents?: boolean;
};

/**
 * Everything x402-stacks asks of a Stacks node. {@link createChainClient} implements it over HTTP; tests may implement
 * it with a fake.
 *
 * @example
 * ```ts
 * import type { ChainClient } from 'x402-stacks/chain';
 * const fake: Pick<ChainClient, 'getFeeRate'> = { getFeeRate: async () => 1n };
 * ```
 */
export interface ChainClient {
  /**
   * Sends a signed transaction (`POST /v2/transactions`, raw bytes). A node rejection is a value, not an exception.
   * @param transaction Hex (with or without `0x`) or bytes, sent exactly as given.
   * @throws {ChainRequestError} when the node cannot be reached or answers nonsense; its `txid` is set when the node
   *   may hold the transaction anyway.
   */
  broadcast(transaction: string | Uint8Array): Promise<BroadcastResult>;
  /**
   * Looks a transaction up (`GET /extended/v1/tx/0x…`). `null` when unknown; `{ indexed: false, status: 'pending' }`
   * for a transaction this client broadcast less than `notFoundGraceMs` ago that the API has not indexed yet.
   * @param txid 64 hex characters, with or without `0x`.
   */
  getTransaction(txid: string): Promise<ChainTransaction | null>;
  /**
   * Looks many transactions up at once (`GET /extended/v1/tx/multiple?tx_id=…`, 50 a request), each answered as
   * {@link ChainClient.getTransaction} would. Against an API without that route (a bare node), one read per txid.
   * Optional: a status poller falls back to `getTransaction` for a client without it.
   * @param txids 64 hex characters each, with or without `0x`.
   * @returns every requested txid (lower-case, no `0x`) with its transaction or `null`.
   * @example
   * ```ts
   * const found = await chain.getTransactions?.([txidA, txidB]);
   * found?.get(txidA)?.status; // 'success'
   * ```
   */
  getTransactions?(txids: readonly string[]): Promise<Map<string, ChainTransaction | null>>;
  /**
   * The nonce the principal's next transaction should use, counting its mempool transactions
   * (`possible_next_nonce`). Against a bare node without the extended API: the confirmed nonce of `/v2/accounts`.
   */
  getNextNonce(principal: string): Promise<bigint>;
  /**
   * The principal's nonces as the mempool sees them: the next one after its last confirmed transaction, the next
   * possible one counting the mempool, and the nonces missing between them (a gap that stops everything above it).
   * Against a bare node without the extended API: the confirmed nonce for both, and no gaps known.
   */
  getNonces(principal: string): Promise<AccountNonces>;
  /** The principal's confirmed STX balance (µSTX, locked excluded) and confirmed nonce, in one read (`/v2/accounts`). */
  getAccount(principal: string): Promise<AccountState>;
  /** The principal's STX balance in µSTX (`/v2/accounts`, confirmed; locked STX excluded). */
  getStxBalance(principal: string): Promise<bigint>;
  /**
   * The principal's balance of a SIP-010 token in its smallest unit, 0n when it holds none.
   * @param assetIdentifier `<contract id>::<asset name>`, e.g. `SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token::sbtc-token`.
   */
  getFtBalance(principal: string, assetIdentifier: string): Promise<bigint>;
  /** The node's fee rate for a transfer, in µSTX per byte (`/v2/fees/transfer`). */
  getFeeRate(): Promise<bigint>;
  /** Chain id and tip heights (`/v2/info`). */
  getInfo(): Promise<ChainInfo>;
  /**
   * Evaluates a read-only function at the chain tip (`POST /v2/contracts/call-read/…`). Optional: only the
   * batch-settlement scheme reads contract state.
   * @param contractId `<address>.<contract name>`.
   * @param args Each argument as hex-serialized Clarity (`0x…`).
   * @returns the result's hex-serialized Clarity value.
   * @throws {ChainRequestError} when the node cannot run the call (`chain_bad_response` with the node's cause).
   * @example
   * ```ts
   * const hex = await chain.callReadOnly?.(escrow, 'get-channel', [cvToHex(Cl.buffer(id))]);
   * ```
   */
  callReadOnly?(contractId: string, functionName: string, args: readonly string[]): Promise<string>;
  /**
   * Calls `listener` with each block the API pushes from now on (the `block` event of its WebSocket channel,
   * `/extended/v1/ws`), until the returned function is called. One connection serves every watcher; it opens at the
   * first and closes with the last.
   *
   * A hint of when to read, not a read: the channel may be down (it is opened again after 1 s, doubling up to 30 s),
   * and blocks pushed meanwhile are never replayed, so a caller that must not miss a transaction still polls. A
   * facilitator reads a settlement's status as soon as its block is pushed, instead of at its next poll. Optional:
   * absent with `blockEvents: false`.
   * @example
   * ```ts
   * const stop = chain.watchBlocks?.((block) => console.log(block.height, block.txids));
   * stop?.();
   * ```
   */
  watchBlocks?(listener: (block: MinedBlock) => void): StopWatching;
}

/**
 * Creates the HTTP client for a Stacks node plus the Hiro extended API.
 *
 * @param options See {@link ChainClientOptions}; only `network` is required.
 * @throws {UnknownNetworkError} for an unknown network.
 * @throws {InvalidChainInputError} for a URL that is not http(s), or a bad timeout, retry count or grace period.
 * @example
 * ```ts
 * import { createChainClient } from 'x402-stacks/chain';
 * const chain = createChainClient({ network: 'testnet', apiKey: process.env.HIRO_API_KEY });
 * const result = await chain.broadcast('0x80800000000400…');
 * if (result.accepted) console.log(await chain.getTransaction(result.txid)); // { indexed: false, status: 'pending', … }
 * else console.log(result.reason); // 'ConflictingNonceInMempool'
 * ```
 */
export function createChainClient(options: ChainClientOptions): ChainClient {
  const {
    timeoutMs = 10_000,
    maxRetries = 3,
    notFoundGraceMs = 30_000,
    now = Date.now,
    sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  } = options;
  const network = resolveNetwork(options.network);
  const base = parseBaseUrl(options.url ?? network.apiUrl, options.apiKey);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidChainInputError(`timeoutMs must be a positive number, got ${timeoutMs}.`);
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidChainInputError(
      `maxRetries must be a non-negative integer, got ${maxRetries}.`,
    );
  }
  if (options.blockEvents !== undefined && typeof options.blockEvents !== 'boolean') {
    throw new InvalidChainInputError(
      `blockEvents must be true or false, got ${JSON.stringify(options.blockEvents)}.`,
    );
  }
  if (!Number.isFinite(notFoundGraceMs) || notFoundGraceMs < 0) {
    throw new InvalidChainInputError(
      `notFoundGraceMs must be a non-negative number, got ${notFoundGraceMs}.`,
    );
  }
  // Node's own http costs a fraction of undici's fetch per request; an injected fetch (tests, proxies) always wins.
  const exchange = options.fetch
    ? createFetchExchange(options.fetch, base.origin, timeoutMs)
    : (createNodeExchange(base, timeoutMs) ??
      createFetchExchange(globalThis.fetch, base.origin, timeoutMs));
  const request: Request = createRequest({
    base,
    apiKey: options.apiKey,
    exchange,
    timeoutMs,
    maxRetries,
    now,
    sleep,
  });

  // Txids this client broadcast, by time, oldest first, for the 404 grace period.
  const broadcastAt = new Map<string, number>();
  const remember = (txid: string) => {
    const time = now();
    for (const [id, at] of broadcastAt) {
      if (time - at <= notFoundGraceMs) break;
      broadcastAt.delete(id);
    }
    broadcastAt.delete(txid);
    broadcastAt.set(txid, time);
  };

  const get = (path: string, expect?: readonly number[]) =>
    request({ method: 'GET', path, idempotent: true, ...(expect ? { expect } : {}) });

  /** What a 404 for a txid means: one of ours not indexed yet (pending) within the grace period, else unknown. */
  const notFound = (id: string): ChainTransaction | null => {
    const at = broadcastAt.get(id);
    if (at !== undefined && now() - at <= notFoundGraceMs) {
      return { indexed: false, txid: id, status: 'pending', broadcastAt: at };
    }
    return null;
  };

  async function getTransaction(txid: string): Promise<ChainTransaction | null> {
    const id = txidInput(txid);
    const response = await get(PATHS.transaction(id), [404]);
    if (response.status === 404) return notFound(id);
    const tx = response.json(TransactionSchema);
    if (tx.txid !== id) throw response.badResponse(`for another transaction (${tx.txid})`);
    return { ...tx, raw: JSON.parse(response.text) as Record<string, unknown> };
  }

  // Learned from the first 404 of `tx/multiple`: this API has no such route, so each txid is read on its own.
  let multipleUnsupported = false;

  async function readMany(ids: readonly string[], into: Map<string, ChainTransaction | null>) {
    if (!multipleUnsupported) {
      const response = await get(PATHS.transactions(ids), [404]);
      if (response.status !== 404) {
        const answers = response.json(MultipleTransactionsSchema);
        for (const id of ids) {
          const answer = answers[`0x${id}`] ?? answers[id];
          if (!answer?.found) {
            into.set(id, notFound(id));
            continue;
          }
          // The status decides money: the same strict schema as a single read.
          const parsed = TransactionSchema.safeParse(answer.result);
          if (!parsed.success)
            throw response.badResponse(`with a transaction ${id} it cannot read`);
          if (parsed.data.txid !== id)
            throw response.badResponse(`for another transaction (${parsed.data.txid})`);
          into.set(id, { ...parsed.data, raw: answer.result as Record<string, unknown> });
        }
        return;
      }
      multipleUnsupported = true;
    }
    const single = await Promise.all(ids.map(getTransaction));
    ids.forEach((id, k) => {
      into.set(id, single[k]!);
    });
  }

  const blockEvents = options.blockEvents ?? !options.fetch;
  const feed = blockEvents
    ? createBlockFeed({
        url: channelUrl(base, PATHS.events),
        headers: credentialHeaders(base, options.apiKey),
      })
    : undefined;

  return {
    ...(feed
      ? { watchBlocks: (listener: (block: MinedBlock) => void) => feed.watch(listener) }
      : {}),

    async broadcast(transaction) {
      const bytes = transactionBytes(transaction);
      const localTxid = transactionIdOf(bytes);
      try {
        const response = await request({
          method: 'POST',
          path: PATHS.broadcast,
          body: bytes,
          contentType: 'application/octet-stream',
          expect: [400],
          idempotent: false,
          txid: localTxid,
        });
        if (response.status === 400) return rejection(response, localTxid);
        const txid = normalizeTxid(response.json(BroadcastTxidSchema));
        remember(txid);
        return { accepted: true, txid };
      } catch (error) {
        if (error instanceof ChainRequestError && error.txid) remember(error.txid);
        throw error;
      }
    },

    getTransaction,

    async getTransactions(txids) {
      const ids = [...new Set(txids.map(txidInput))];
      const found = new Map<string, ChainTransaction | null>();
      const reads: Promise<void>[] = [];
      for (let start = 0; start < ids.length; start += TXIDS_PER_READ)
        reads.push(readMany(ids.slice(start, start + TXIDS_PER_READ), found));
      await Promise.all(reads);
      return found;
    },

    async getNextNonce(principal) {
      const p = principalInput(principal);
      const nonces = await get(PATHS.nonces(p), [404]);
      if (nonces.status !== 404) return BigInt(nonces.checkedJson(checkNonces).possible_next_nonce);
      // A bare node has no extended API: its confirmed nonce is the best it knows (mempool not counted).
      return BigInt((await get(PATHS.account(p))).checkedJson(checkAccount).nonce);
    },

    async getNonces(principal) {
      const p = principalInput(principal);
      const response = await get(PATHS.nonces(p), [404]);
      if (response.status === 404) {
        const { nonce } = (await get(PATHS.account(p))).checkedJson(checkAccount);
        return { confirmedNext: BigInt(nonce), possibleNext: BigInt(nonce), missing: [] };
      }
      const nonces = response.checkedJson(checkNonces);
      const lastExecuted = nonces.last_executed_tx_nonce;
      return {
        confirmedNext:
          lastExecuted === null || lastExecuted === undefined ? 0n : BigInt(lastExecuted) + 1n,
        possibleNext: BigInt(nonces.possible_next_nonce),
        missing: (nonces.detected_missing_nonces ?? []).map(BigInt).sort(compareBigInt),
      };
    },

    async getAccount(principal) {
      const account = (await get(PATHS.account(principalInput(principal)))).checkedJson(
        checkAccount,
      );
      return { balance: BigInt(account.balance), nonce: BigInt(account.nonce) };
    },

    async getStxBalance(principal) {
      const account = await get(PATHS.account(principalInput(principal)));
      return BigInt(account.checkedJson(checkAccount).balance);
    },

    async getFtBalance(principal, assetIdentifier) {
      const asset = assetInput(assetIdentifier);
      const balances = await get(PATHS.balances(principalInput(principal)));
      const tokens = balances.checkedJson(checkBalances).fungible_tokens ?? {};
      const entry = tokens[asset];
      return entry ? BigInt(entry.balance) : 0n;
    },

    async getFeeRate() {
      return BigInt((await get(PATHS.feeRate)).checkedJson(checkFeeRate));
    },

    async getInfo() {
      return (await get(PATHS.info)).checkedJson(checkInfo);
    },

    async callReadOnly(contractId, functionName, args) {
      clarityNameInput(functionName);
      const contract = parsePrincipal(contractId);
      if (contract.contractName === undefined) {
        throw new InvalidChainInputError(`${contractId} is not a contract principal.`);
      }
      const address = contractId.slice(0, contractId.indexOf('.'));
      const body = JSON.stringify({ sender: address, arguments: args });
      const response = await request({
        method: 'POST',
        path: PATHS.callRead(address, contract.contractName, functionName),
        body: new TextEncoder().encode(body),
        contentType: 'application/json',
        idempotent: true,
      });
      const answer = response.checkedJson(checkCallRead);
      if (!answer.okay)
        throw response.badResponse(`refusing to run ${functionName}: ${answer.cause}`);
      return answer.result;
    },
  };
}

/** A 400 from `POST /v2/transactions`: the node's JSON rejection, or its text/plain decoding failure. */
function rejection(response: Awaited<ReturnType<Request>>, localTxid: string): BroadcastRejected {
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null) {
    // "Failed to decode transaction" and the like: the node could not even read the bytes.
    const message = typeof body === 'string' ? body : response.text.trim();
    return { accepted: false, reason: 'Deserialization', reasonData: { message } };
  }
  const parsed = RejectionSchema.safeParse(body);
  if (!parsed.success) throw response.badResponse('with a rejection that names no reason');
  const { reason, reason_data: reasonData, txid } = parsed.data;
  const id = txid ?? (UNDECODABLE_REASONS.has(reason) ? undefined : localTxid);
  return {
    accepted: false,
    reason,
    ...(reasonData === undefined ? {} : { reasonData }),
    ...(id === undefined ? {} : { txid: normalizeTxid(id) }),
  };
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseBaseUrl(url: string, apiKey: string | undefined): URL {
  const secrets = apiKey ? [apiKey] : [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidChainInputError(`url ${redactUrl(String(url), secrets)} is not a URL.`);
  }
  // Its own query may authenticate under any name, as in every later error (request.ts).
  const shown = () => redactUrl(parsed, secrets, new Set(parsed.searchParams.keys()));
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidChainInputError(
      `url ${shown()} must be http or https, not ${parsed.protocol}`,
    );
  }
  if (parsed.hash !== '') {
    throw new InvalidChainInputError(`url ${shown()} must not have a #fragment.`);
  }
  return parsed;
}

function transactionBytes(transaction: string | Uint8Array): Uint8Array {
  if (transaction instanceof Uint8Array) {
    if (transaction.length === 0) throw new InvalidChainInputError('the transaction is empty.');
    return transaction;
  }
  if (typeof transaction !== 'string') {
    throw new InvalidChainInputError('the transaction must be a hex string or a Uint8Array.');
  }
  const hex =
    transaction.startsWith('0x') || transaction.startsWith('0X')
      ? transaction.slice(2)
      : transaction;
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new InvalidChainInputError(
      `the transaction is not hex (${hex.length} characters, even-length hex expected).`,
    );
  }
  return fromHex(hex);
}

function txidInput(txid: string): string {
  const bare = typeof txid === 'string' && /^0x/i.test(txid) ? txid.slice(2) : txid;
  if (typeof bare !== 'string' || !/^[0-9a-fA-F]{64}$/.test(bare)) {
    throw new InvalidTransactionIdError(txid);
  }
  return bare.toLowerCase();
}

/**
 * A Clarity function name, as the language allows it. Encoding alone would let `..` through, which a server resolves
 * as a step up the path, to another route than the one the caller named.
 */
function clarityNameInput(name: string): void {
  if (typeof name !== 'string' || name.length > 128 || !CLARITY_NAME.test(name))
    throw new InvalidChainInputError(`${JSON.stringify(name)} is not a Clarity function name.`);
}

/** Clarity's names: a letter, then letters, digits and `-_!?+<>=/*`; or one of the operators `-+=/*<>` and `<=` `>=`. */
const CLARITY_NAME = /^(?:[a-zA-Z][a-zA-Z0-9\-_!?+<>=/*]*|[-+=/*]|[<>]=?)$/;

/**
 * A principal in c32check form, `SP…` or `SP….contract`. Its network is not checked: a devnet holds contracts at
 * mainnet addresses (sBTC), and the node answers for any valid principal.
 */
function principalInput(principal: string): string {
  return parsePrincipal(principal).principal;
}

function assetInput(assetIdentifier: string): string {
  const match =
    typeof assetIdentifier === 'string' ? /^([^:]+)::([^\s:]+)$/.exec(assetIdentifier) : null;
  const contractId = match?.[1];
  if (!contractId || parsePrincipal(contractId).contractName === undefined) {
    throw new InvalidChainInputError(
      `asset identifier ${JSON.stringify(assetIdentifier)} is not "<contract id>::<asset name>".`,
    );
  }
  return assetIdentifier;
}
