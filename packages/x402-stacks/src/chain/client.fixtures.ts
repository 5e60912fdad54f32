/**
 * Test support for the chain client: response bodies written by hand after the shapes recorded from a Stacks node
 * and the Hiro API (stacks-tooling reference §5), and a scriptable HTTP server on 127.0.0.1 that serves them.
 * Not part of the package: nothing outside tests imports this file.
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PAYER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
export const PAY_TO = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
export const SPONSOR = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
export const SBTC_CONTRACT = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token';
export const SBTC_ASSET = `${SBTC_CONTRACT}::sbtc-token`;

export const TXID_SUCCESS = 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb';
export const TXID_PENDING = '3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d';
export const TXID_ABORT_PC = '2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6';
export const TXID_DROPPED = '18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4';
export const TXID_REPLACEMENT = '3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea';

const BLOCK_HASH = '0x8f7c1d9a0e4b3a2c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c';

const sbtcTransferCall = {
  contract_id: SBTC_CONTRACT,
  function_name: 'transfer',
  function_signature:
    '(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34)))))',
  function_args: [
    { hex: '0x01000000000000000000000000000003e8', repr: 'u1000', name: 'amount', type: 'uint' },
    {
      hex: '0x051a7321b74e2b6a7e949e6c4ad313035b1665095017',
      repr: `'${PAYER}`,
      name: 'sender',
      type: 'principal',
    },
    {
      hex: '0x051a99e2ec69ac5b6e67b4e26edd0e2c1c1a6b9bbd23',
      repr: `'${PAY_TO}`,
      name: 'recipient',
      type: 'principal',
    },
    {
      hex: '0x0a0200000008696e762d30303432',
      repr: '(some 0x696e762d30303432)',
      name: 'memo',
      type: '(optional (buff 34))',
    },
  ],
};

const sbtcPostCondition = {
  principal: { type_id: 'principal_standard', address: PAYER },
  condition_code: 'sent_equal_to',
  amount: '1000',
  type: 'fungible',
  asset: {
    asset_name: 'sbtc-token',
    contract_address: SBTC_CONTRACT.split('.')[0],
    contract_name: 'sbtc-token',
  },
};

/** A mined sBTC `transfer` with its ft_transfer event and the memo print, as `GET /extended/v1/tx/0x…` returns it. */
export const TX_SUCCESS = {
  tx_id: `0x${TXID_SUCCESS}`,
  nonce: 4,
  fee_rate: '3000',
  sender_address: PAYER,
  sponsored: false,
  post_condition_mode: 'deny',
  post_conditions: [sbtcPostCondition],
  anchor_mode: 'any',
  block_hash: BLOCK_HASH,
  block_height: 120,
  block_time: 1760000000,
  block_time_iso: '2025-10-09T08:53:20.000Z',
  burn_block_height: 4021,
  burn_block_time: 1759999990,
  burn_block_time_iso: '2025-10-09T08:53:10.000Z',
  parent_burn_block_time: 1759999390,
  parent_burn_block_time_iso: '2025-10-09T08:43:10.000Z',
  canonical: true,
  tx_index: 1,
  tx_status: 'success',
  tx_result: { hex: '0x0703', repr: '(ok true)' },
  event_count: 2,
  parent_block_hash: '0x1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a',
  is_unanchored: false,
  microblock_hash: '0x',
  microblock_sequence: 2147483647,
  microblock_canonical: true,
  execution_cost_read_count: 5,
  execution_cost_read_length: 6180,
  execution_cost_runtime: 16447,
  execution_cost_write_count: 2,
  execution_cost_write_length: 1,
  vm_error: null,
  events: [
    {
      event_index: 0,
      event_type: 'fungible_token_asset',
      tx_id: `0x${TXID_SUCCESS}`,
      asset: {
        asset_event_type: 'transfer',
        asset_id: SBTC_ASSET,
        sender: PAYER,
        recipient: PAY_TO,
        amount: '1000',
      },
    },
    {
      event_index: 1,
      event_type: 'smart_contract_log',
      tx_id: `0x${TXID_SUCCESS}`,
      contract_log: {
        contract_id: SBTC_CONTRACT,
        topic: 'print',
        value: { hex: '0x0200000008696e762d30303432', repr: '0x696e762d30303432' },
      },
    },
  ],
  tx_type: 'contract_call',
  contract_call: sbtcTransferCall,
};

/** An STX transfer still in the mempool (the mempool shape: receipt time, no block, no events). */
export const TX_PENDING = {
  tx_id: `0x${TXID_PENDING}`,
  nonce: 7,
  fee_rate: '180',
  sender_address: PAYER,
  sponsored: false,
  post_condition_mode: 'deny',
  post_conditions: [],
  anchor_mode: 'any',
  tx_status: 'pending',
  receipt_time: 1760000100,
  receipt_time_iso: '2025-10-09T08:55:00.000Z',
  tx_type: 'token_transfer',
  token_transfer: {
    recipient_address: PAY_TO,
    amount: '5000',
    memo: '0x696e762d3030343300000000000000000000000000000000000000000000000000',
  },
};

/** A sponsored sBTC transfer mined but rolled back by its post-condition: no events, fee still spent. */
export const TX_ABORT_BY_POST_CONDITION = {
  ...TX_SUCCESS,
  tx_id: `0x${TXID_ABORT_PC}`,
  nonce: 5,
  fee_rate: '2500',
  sponsored: true,
  sponsor_address: SPONSOR,
  block_height: 121,
  tx_status: 'abort_by_post_condition',
  tx_result: { hex: '0x0703', repr: '(ok true)' },
  event_count: 0,
  events: [],
  vm_error: null,
};

/** A mempool transaction replaced by a higher-fee one with the same nonce. */
export const TX_DROPPED_RBF = {
  ...TX_PENDING,
  tx_id: `0x${TXID_DROPPED}`,
  tx_status: 'dropped_replace_by_fee',
  replaced_by_tx_id: `0x${TXID_REPLACEMENT}`,
};

export const TX_NOT_FOUND = (txid: string) => ({
  error: 'could not find transaction by ID',
  message: `could not find transaction by ID 0x${txid}`,
});

/** `GET /v2/accounts/:principal?proof=0`: 1 000 000 000 µSTX, nonce 7. */
export const ACCOUNT = {
  balance: '0x0000000000000000000000003b9aca00',
  locked: '0x00000000000000000000000000000000',
  unlock_height: 0,
  nonce: 7,
};

/** `GET /extended/v1/address/:principal/nonces`: one transaction (nonce 8) waiting in the mempool. */
export const NONCES = {
  last_mempool_tx_nonce: 8,
  last_executed_tx_nonce: 7,
  possible_next_nonce: 9,
  detected_missing_nonces: [],
  detected_mempool_nonces: [8],
};

/** `GET /extended/v1/address/:principal/balances`. */
export const BALANCES = {
  stx: {
    balance: '1000000000',
    total_sent: '0',
    total_received: '1000000000',
    total_fees_sent: '0',
    total_miner_rewards_received: '0',
    lock_tx_id: '',
    locked: '0',
    lock_height: 0,
    burnchain_lock_height: 0,
    burnchain_unlock_height: 0,
  },
  fungible_tokens: {
    [SBTC_ASSET]: { balance: '250000', total_sent: '0', total_received: '250000' },
  },
  non_fungible_tokens: {},
};

/** `GET /v2/info` of a testnet node. */
export const INFO = {
  peer_version: 4278190080,
  pox_consensus: '2c4b0a0c6f7d8e9a1b2c3d4e5f6a7b8c9d0e1f2a',
  burn_block_height: 4021,
  stable_pox_consensus: '7d8e9a1b2c3d4e5f6a7b8c9d0e1f2a2c4b0a0c6f',
  stable_burn_block_height: 4014,
  server_version:
    'stacks-node 3.1.0.0.7 (release/3.1.0.0.7:a0f7a5d, release build, linux [x86_64])',
  network_id: 2147483648,
  parent_network_id: 118034699,
  stacks_tip_height: 120,
  stacks_tip: BLOCK_HASH.slice(2),
  stacks_tip_consensus_hash: '5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f',
  genesis_chainstate_hash: '74237aa39aa50a83de11a4f53e9d3bb7d43461d1de9873f402e5453ae60bc59b',
  unanchored_tip: null,
  unanchored_seq: null,
  tenure_height: 118,
  exit_at_block_height: null,
  is_fully_synced: true,
  node_public_key: '02a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  node_public_key_hash: '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d',
  stackerdbs: [],
};

/** `GET /v2/fees/transfer`: µSTX per byte. */
export const FEE_RATE = 1;

/** The rejection bodies of `POST /v2/transactions` (stacks-core `MemPoolRejection::into_json`). */
export const REJECTED_CONFLICTING_NONCE = (txid: string) => ({
  error: 'transaction rejected',
  reason: 'ConflictingNonceInMempool',
  txid,
});

export const REJECTED_NOT_ENOUGH_FUNDS = (txid: string) => ({
  error: 'transaction rejected',
  reason: 'NotEnoughFunds',
  reason_data: {
    expected: '0x0000000000000000000000000000d2f0',
    actual: '0x00000000000000000000000000000064',
  },
  txid,
});

/** The sha512/256 txid of raw transaction bytes, as the node computes it. */
export function txidOf(bytes: Uint8Array): string {
  return createHash('sha512-256').update(bytes).digest('hex');
}

/** One response the mock node sends. `json` is serialized with `application/json`. */
export type Reply = {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (for timeouts). */
  delayMs?: number;
};

/** A request as the mock node saw it. */
export type SeenRequest = {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
};

export type MockNode = {
  url: string;
  requests: SeenRequest[];
  /** Answers the next requests to `METHOD /path` (query ignored) with these replies, in order, before the routes. */
  script(route: string, ...replies: Reply[]): void;
  reset(): void;
  close(): Promise<void>;
};

const JSON_TYPE = 'application/json';

/**
 * The default routes: the fixtures above, a broadcast that accepts anything (answering the node's txid), and the
 * Hiro 404 body for unknown transactions.
 */
function defaultReply(method: string, path: string, body: Buffer): Reply {
  const transactions: Record<string, unknown> = {
    [TXID_SUCCESS]: TX_SUCCESS,
    [TXID_PENDING]: TX_PENDING,
    [TXID_ABORT_PC]: TX_ABORT_BY_POST_CONDITION,
    [TXID_DROPPED]: TX_DROPPED_RBF,
  };
  if (method === 'POST' && path === '/v2/transactions') {
    return { status: 200, json: txidOf(body) };
  }
  if (method !== 'GET') return { status: 405, text: 'Method Not Allowed' };
  if (path === '/v2/info') return { status: 200, json: INFO };
  if (path === '/v2/fees/transfer') return { status: 200, json: FEE_RATE };
  if (path.startsWith('/v2/accounts/')) return { status: 200, json: ACCOUNT };
  if (/^\/extended\/v1\/address\/[^/]+\/nonces$/.test(path)) return { status: 200, json: NONCES };
  if (/^\/extended\/v1\/address\/[^/]+\/balances$/.test(path)) {
    return { status: 200, json: BALANCES };
  }
  const tx = /^\/extended\/v1\/tx\/0x([0-9a-f]{64})$/.exec(path);
  if (tx) {
    const id = tx[1] as string;
    return id in transactions
      ? { status: 200, json: transactions[id] }
      : { status: 404, json: TX_NOT_FOUND(id) };
  }
  return { status: 404, text: 'Not Found' };
}

/** Starts the mock node on 127.0.0.1, port 0. */
export async function startMockNode(): Promise<MockNode> {
  const requests: SeenRequest[] = [];
  const scripts = new Map<string, Reply[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      requests.push({ method, url, headers: req.headers, body });
      const path = url.split('?')[0] as string;
      const reply = scripts.get(`${method} ${path}`)?.shift() ?? defaultReply(method, path, body);
      const send = () => {
        if (res.destroyed) return;
        const headers: Record<string, string> = { ...reply.headers };
        let payload = '';
        if (reply.json !== undefined) {
          headers['content-type'] ??= JSON_TYPE;
          payload = JSON.stringify(reply.json);
        } else if (reply.text !== undefined) {
          headers['content-type'] ??= 'text/plain';
          payload = reply.text;
        }
        res.writeHead(reply.status, headers);
        res.end(payload);
      };
      if (reply.delayMs === undefined) return send();
      const timer = setTimeout(send, reply.delayMs);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(route, ...replies) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...replies]);
    },
    reset() {
      requests.length = 0;
      scripts.clear();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
