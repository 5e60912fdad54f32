import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { InvalidAddressError, InvalidTransactionIdError } from '../stacks/errors.js';
import {
  ACCOUNT,
  INFO,
  type MockNode,
  NONCES,
  PAY_TO,
  PAYER,
  REJECTED_CONFLICTING_NONCE,
  REJECTED_NOT_ENOUGH_FUNDS,
  SBTC_ASSET,
  SBTC_CONTRACT,
  SPONSOR,
  startMockNode,
  TX_ABORT_BY_POST_CONDITION,
  TX_DROPPED_RBF,
  TX_PENDING,
  TX_SUCCESS,
  TXID_ABORT_PC,
  TXID_DROPPED,
  TXID_PENDING,
  TXID_REPLACEMENT,
  TXID_SUCCESS,
  txidOf,
} from './client.fixtures.js';
import { type ChainClientOptions, createChainClient } from './client.js';
import { ChainRequestError, InvalidChainInputError } from './errors.js';

// Any bytes do: the mock node does not decode them. A real STX transfer starts like this (testnet version 0x80).
const TX_HEX =
  '808000000004001a7321b74e2b6a7e949e6c4ad313035b1665095017000000000000000700000000000000b4';
const TX_BYTES = Uint8Array.from(Buffer.from(TX_HEX, 'hex'));
const TX_TXID = txidOf(TX_BYTES);

let node: MockNode;
let clock: number;
let sleeps: number[];

function client(overrides: Partial<ChainClientOptions> = {}) {
  return createChainClient({
    network: 'testnet',
    url: node.url,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
}

const paths = () => node.requests.map((request) => `${request.method} ${request.url}`);

/** Runs `promise`, asserts it rejects with a ChainRequestError, and returns the error. */
async function chainError(promise: Promise<unknown>): Promise<ChainRequestError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ChainRequestError, `expected ChainRequestError, got ${error}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  node = await startMockNode();
});
after(async () => {
  await node.close();
});
afterEach(() => {
  node.reset();
  clock = 1_760_000_000_000;
  sleeps = [];
});
clock = 1_760_000_000_000;
sleeps = [];

describe('createChainClient: broadcast', () => {
  test('POSTs exactly the given bytes as application/octet-stream and returns the txid', async () => {
    const result = await client().broadcast(`0x${TX_HEX}`);
    assert.deepEqual(result, { accepted: true, txid: TX_TXID });
    assert.deepEqual(paths(), ['POST /v2/transactions']);
    const [seen] = node.requests;
    assert.equal(seen?.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(new Uint8Array(seen?.body ?? []), TX_BYTES);
  });

  test('sends a Uint8Array byte for byte, and upper-case hex the same as lower-case', async () => {
    await client().broadcast(TX_BYTES);
    await client().broadcast(TX_HEX.toUpperCase());
    assert.equal(node.requests.length, 2);
    for (const seen of node.requests) assert.deepEqual(new Uint8Array(seen.body), TX_BYTES);
  });

  test('normalizes a 0x-prefixed upper-case txid from the node', async () => {
    node.script('POST /v2/transactions', { status: 200, json: `0x${TX_TXID.toUpperCase()}` });
    assert.deepEqual(await client().broadcast(TX_HEX), { accepted: true, txid: TX_TXID });
  });

  test('returns ConflictingNonceInMempool as a rejection value, with the node txid', async () => {
    node.script('POST /v2/transactions', {
      status: 400,
      json: REJECTED_CONFLICTING_NONCE(TXID_PENDING.toUpperCase()),
    });
    assert.deepEqual(await client().broadcast(TX_HEX), {
      accepted: false,
      reason: 'ConflictingNonceInMempool',
      txid: TXID_PENDING,
    });
  });

  test('keeps NotEnoughFunds reason_data as the node sent it', async () => {
    node.script('POST /v2/transactions', {
      status: 400,
      json: REJECTED_NOT_ENOUGH_FUNDS(TX_TXID),
    });
    assert.deepEqual(await client().broadcast(TX_HEX), {
      accepted: false,
      reason: 'NotEnoughFunds',
      reasonData: {
        expected: '0x0000000000000000000000000000d2f0',
        actual: '0x00000000000000000000000000000064',
      },
      txid: TX_TXID,
    });
  });

  test('fills in the computed txid when a rejection carries none', async () => {
    node.script('POST /v2/transactions', {
      status: 400,
      json: {
        error: 'transaction rejected',
        reason: 'FeeTooLow',
        reason_data: { expected: 45, actual: 1 },
      },
    });
    const result = await client().broadcast(TX_HEX);
    assert.equal(result.accepted, false);
    assert.equal(result.txid, TX_TXID);
  });

  test('turns a text/plain 400 into a Deserialization rejection without a txid', async () => {
    node.script('POST /v2/transactions', { status: 400, text: 'Failed to decode transaction' });
    assert.deepEqual(await client().broadcast(TX_HEX), {
      accepted: false,
      reason: 'Deserialization',
      reasonData: { message: 'Failed to decode transaction' },
    });
  });

  test('error: a JSON 400 that names no reason is a bad response', async () => {
    node.script('POST /v2/transactions', { status: 400, json: { error: 'bad request' } });
    const error = await chainError(client().broadcast(TX_HEX));
    assert.equal(error.reason, 'chain_bad_response');
    assert.equal(error.status, 400);
  });

  test('retries a 429, waiting what retry-after says', async () => {
    node.script('POST /v2/transactions', {
      status: 429,
      headers: { 'retry-after': '2' },
      json: { error: 'rate limited' },
    });
    assert.deepEqual(await client().broadcast(TX_HEX), { accepted: true, txid: TX_TXID });
    assert.equal(node.requests.length, 2);
    assert.deepEqual(sleeps, [2000]);
  });

  test('error: does not repeat a broadcast after a 503, and reports the txid the node may hold', async () => {
    node.script('POST /v2/transactions', { status: 503, text: 'Service Unavailable' });
    const chain = client();
    const error = await chainError(chain.broadcast(TX_HEX));
    assert.equal(error.reason, 'chain_unreachable');
    assert.equal(error.status, 503);
    assert.equal(error.txid, TX_TXID);
    assert.equal(error.attempts, 1);
    assert.equal(node.requests.length, 1);
    assert.deepEqual(sleeps, []);
    // The node may have it: a 404 right after is "not indexed yet", not "unknown".
    assert.deepEqual(await chain.getTransaction(TX_TXID), {
      indexed: false,
      txid: TX_TXID,
      status: 'pending',
      broadcastAt: clock,
    });
  });

  test('error: does not repeat a broadcast that timed out', async () => {
    node.script('POST /v2/transactions', { status: 200, json: TX_TXID, delayMs: 2_000 });
    const error = await chainError(client({ timeoutMs: 100 }).broadcast(TX_HEX));
    assert.equal(error.reason, 'chain_unreachable');
    assert.match(error.shortMessage, /timed out after 100 ms/);
    assert.equal(error.txid, TX_TXID);
    assert.equal(node.requests.length, 1);
  });

  test('retries a broadcast whose connection was refused: it never reached a server', async () => {
    const port = await closedPort();
    const error = await chainError(
      client({ url: `http://127.0.0.1:${port}`, maxRetries: 2 }).broadcast(TX_HEX),
    );
    assert.equal(error.reason, 'chain_unreachable');
    assert.match(error.shortMessage, /ECONNREFUSED/);
    assert.equal(error.attempts, 3);
    assert.deepEqual(sleeps, [500, 1000]);
    assert.equal(error.txid, undefined);
  });

  test('error: refuses input that is not hex, without a request', async () => {
    for (const bad of ['', '0x', 'abc', 'zz', new Uint8Array()]) {
      await assert.rejects(client().broadcast(bad), InvalidChainInputError);
    }
    assert.equal(node.requests.length, 0);
  });
});

describe('createChainClient: getTransaction', () => {
  test('reads a mined sBTC transfer with its ft_transfer and print events', async () => {
    const tx = await client().getTransaction(`0x${TXID_SUCCESS.toUpperCase()}`);
    assert.deepEqual(paths(), [`GET /extended/v1/tx/0x${TXID_SUCCESS}`]);
    assert.deepEqual(tx, {
      indexed: true,
      txid: TXID_SUCCESS,
      status: 'success',
      txType: 'contract_call',
      sender: PAYER,
      nonce: 4n,
      fee: 3000n,
      blockHeight: 120,
      blockHash: TX_SUCCESS.block_hash,
      blockTime: 1760000000,
      burnBlockHeight: 4021,
      canonical: true,
      result: { hex: '0x0703', repr: '(ok true)' },
      events: [
        {
          index: 0,
          type: 'ft_transfer',
          assetId: SBTC_ASSET,
          sender: PAYER,
          recipient: PAY_TO,
          amount: 1000n,
        },
        {
          index: 1,
          type: 'print',
          contractId: SBTC_CONTRACT,
          topic: 'print',
          value: { hex: '0x0200000008696e762d30303432', repr: '0x696e762d30303432' },
        },
      ],
      eventCount: 2,
      raw: TX_SUCCESS,
    });
  });

  test('reads a pending mempool transaction: no block, no events', async () => {
    const tx = await client().getTransaction(TXID_PENDING);
    assert.ok(tx?.indexed);
    assert.equal(tx.status, 'pending');
    assert.equal(tx.txType, 'token_transfer');
    assert.equal(tx.nonce, 7n);
    assert.equal(tx.fee, 180n);
    assert.equal(tx.blockHeight, undefined);
    assert.equal(tx.result, undefined);
    assert.deepEqual(tx.events, []);
    assert.deepEqual(tx.raw, TX_PENDING);
  });

  test('reads abort_by_post_condition with its sponsor', async () => {
    const tx = await client().getTransaction(TXID_ABORT_PC);
    assert.ok(tx?.indexed);
    assert.equal(tx.status, 'abort_by_post_condition');
    assert.equal(tx.sponsor, SPONSOR);
    assert.equal(tx.sender, TX_ABORT_BY_POST_CONDITION.sender_address);
    assert.equal(tx.fee, 2500n);
    assert.equal(tx.blockHeight, 121);
    assert.deepEqual(tx.events, []);
    assert.equal(tx.eventCount, 0);
  });

  test('reads dropped_replace_by_fee with the replacing txid', async () => {
    const tx = await client().getTransaction(TXID_DROPPED);
    assert.ok(tx?.indexed);
    assert.equal(tx.status, 'dropped_replace_by_fee');
    assert.equal(tx.replacedBy, TXID_REPLACEMENT);
    assert.equal(tx.raw.replaced_by_tx_id, TX_DROPPED_RBF.replaced_by_tx_id);
  });

  test('a 404 right after our own broadcast is "not indexed yet" until the grace period ends', async () => {
    const chain = client({ notFoundGraceMs: 30_000 });
    const broadcastAt = clock;
    const result = await chain.broadcast(TX_HEX);
    assert.ok(result.accepted);
    clock += 30_000;
    assert.deepEqual(await chain.getTransaction(`0x${TX_TXID}`), {
      indexed: false,
      txid: TX_TXID,
      status: 'pending',
      broadcastAt,
    });
    clock += 1;
    assert.equal(await chain.getTransaction(TX_TXID), null);
    assert.equal(node.requests.length, 3);
  });

  test('a 404 for a txid this client never broadcast is null at once', async () => {
    const unknown = 'ab'.repeat(32);
    assert.equal(await client().getTransaction(unknown), null);
    assert.deepEqual(paths(), [`GET /extended/v1/tx/0x${unknown}`]);
  });

  test('the grace period belongs to the client that broadcast', async () => {
    await client().broadcast(TX_HEX);
    assert.equal(await client().getTransaction(TX_TXID), null);
  });

  test('error: a malformed event fails the schema instead of vanishing', async () => {
    const [ftEvent, printEvent] = TX_SUCCESS.events;
    const broken = {
      ...TX_SUCCESS,
      events: [{ ...ftEvent, asset: { ...ftEvent?.asset, amount: 1000 } }, printEvent],
    };
    node.script(`GET /extended/v1/tx/0x${TXID_SUCCESS}`, { status: 200, json: broken });
    const error = await chainError(client().getTransaction(TXID_SUCCESS));
    assert.equal(error.reason, 'chain_bad_response');
    assert.equal(error.status, 200);
    assert.match(error.details ?? '', /amount/);
  });

  test('error: an answer about another transaction is a bad response', async () => {
    node.script(`GET /extended/v1/tx/0x${TXID_SUCCESS}`, { status: 200, json: TX_PENDING });
    const error = await chainError(client().getTransaction(TXID_SUCCESS));
    assert.equal(error.reason, 'chain_bad_response');
    assert.match(error.shortMessage, new RegExp(TXID_PENDING));
  });

  test('error: refuses a txid that is not 64 hex characters, without a request', async () => {
    for (const bad of ['', '0x', 'ab'.repeat(31), `${'ab'.repeat(32)}00`, 'zz'.repeat(32)]) {
      await assert.rejects(client().getTransaction(bad), InvalidTransactionIdError);
    }
    assert.equal(node.requests.length, 0);
  });
});

describe('createChainClient: nonces, balances, fees, info', () => {
  test('getNextNonce returns possible_next_nonce, which counts the mempool', async () => {
    assert.equal(await client().getNextNonce(PAYER), BigInt(NONCES.possible_next_nonce));
    assert.deepEqual(paths(), [`GET /extended/v1/address/${PAYER}/nonces`]);
  });

  test('getNextNonce falls back to /v2/accounts when the nonces route 404s', async () => {
    node.script(`GET /extended/v1/address/${PAYER}/nonces`, { status: 404, text: 'Not Found' });
    assert.equal(await client().getNextNonce(PAYER), BigInt(ACCOUNT.nonce));
    assert.deepEqual(paths(), [
      `GET /extended/v1/address/${PAYER}/nonces`,
      `GET /v2/accounts/${PAYER}?proof=0`,
    ]);
  });

  test('callReadOnly refuses a function name Clarity does not allow, before any request', async () => {
    for (const name of ['..', 'get/../../v2/info', '', '1st', 'a'.repeat(129)])
      await assert.rejects(
        client().callReadOnly!(`${PAYER}.escrow`, name, []),
        (error: unknown) => error instanceof InvalidChainInputError,
        name,
      );
    assert.deepEqual(paths(), []);
    node.script(`POST /v2/contracts/call-read/${PAYER}/escrow/get-channel`, {
      status: 200,
      json: { okay: true, result: '0x09' },
    });
    assert.equal(await client().callReadOnly!(`${PAYER}.escrow`, 'get-channel', []), '0x09');
    assert.deepEqual(paths(), [`POST /v2/contracts/call-read/${PAYER}/escrow/get-channel`]);
  });

  test('getStxBalance reads the u128 hex balance of /v2/accounts', async () => {
    assert.equal(await client().getStxBalance(PAYER), 1_000_000_000n);
    assert.deepEqual(paths(), [`GET /v2/accounts/${PAYER}?proof=0`]);
  });

  test('getStxBalance handles a balance beyond 2^53', async () => {
    node.script(`GET /v2/accounts/${PAYER}`, {
      status: 200,
      json: { ...ACCOUNT, balance: '0x000000000000000000ffffffffffffff' },
    });
    assert.equal(await client().getStxBalance(PAYER), 0xffffffffffffffn);
  });

  test('getFtBalance reads fungible_tokens, and 0n for a token not held', async () => {
    const chain = client();
    assert.equal(await chain.getFtBalance(PAYER, SBTC_ASSET), 250_000n);
    const usdcx = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.usdcx::usdcx-token';
    assert.equal(await chain.getFtBalance(PAYER, usdcx), 0n);
    assert.deepEqual(paths(), [
      `GET /extended/v1/address/${PAYER}/balances`,
      `GET /extended/v1/address/${PAYER}/balances`,
    ]);
  });

  test('error: getFtBalance refuses an asset id without ::name', async () => {
    await assert.rejects(client().getFtBalance(PAYER, SBTC_CONTRACT), InvalidChainInputError);
    await assert.rejects(client().getFtBalance(PAYER, `${PAYER}::x`), InvalidChainInputError);
    assert.equal(node.requests.length, 0);
  });

  test('getFeeRate returns µSTX per byte as a bigint', async () => {
    node.script('GET /v2/fees/transfer', { status: 200, json: 7 });
    assert.equal(await client().getFeeRate(), 7n);
  });

  test('getInfo maps /v2/info', async () => {
    assert.deepEqual(await client().getInfo(), {
      networkId: INFO.network_id,
      stacksTipHeight: 120,
      burnBlockHeight: 4021,
      serverVersion: INFO.server_version,
    });
  });

  test('error: refuses a principal that is not c32check, without a request', async () => {
    const chain = client();
    await assert.rejects(
      chain.getNextNonce('ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD6'),
      InvalidAddressError,
    );
    await assert.rejects(chain.getStxBalance('../../v2/info'), InvalidAddressError);
    assert.equal(node.requests.length, 0);
  });

  test('error: a balance that is not u128 hex is a bad response', async () => {
    node.script(`GET /v2/accounts/${PAYER}`, { status: 200, json: { ...ACCOUNT, balance: 1000 } });
    const error = await chainError(client().getStxBalance(PAYER));
    assert.equal(error.reason, 'chain_bad_response');
    assert.match(error.details ?? '', /balance/);
  });

  test('error: a body that is not JSON is a bad response', async () => {
    node.script('GET /v2/info', { status: 200, text: '<html>maintenance</html>' });
    const error = await chainError(client().getInfo());
    assert.equal(error.reason, 'chain_bad_response');
    assert.match(error.shortMessage, /not JSON/);
  });
});

describe('createChainClient: transport', () => {
  test('sends x-api-key to a host that is not Hiro, on every request', async () => {
    const chain = client({ apiKey: 'hiro-key-0001' });
    await chain.getInfo();
    await chain.getNextNonce(PAYER);
    await chain.broadcast(TX_HEX);
    assert.equal(node.requests.length, 3);
    for (const seen of node.requests) assert.equal(seen.headers['x-api-key'], 'hiro-key-0001');
  });

  test('sends no x-api-key when none is configured', async () => {
    await client().getInfo();
    assert.equal(node.requests[0]?.headers['x-api-key'], undefined);
  });

  test('retries a GET after a 503 with exponential backoff', async () => {
    node.script('GET /v2/info', { status: 503, text: 'Service Unavailable' });
    assert.equal((await client().getInfo()).stacksTipHeight, 120);
    assert.equal(node.requests.length, 2);
    assert.deepEqual(sleeps, [500]);
  });

  test('error: gives up after maxRetries 502s, as chain_unreachable', async () => {
    const gateway = { status: 502, text: 'Bad Gateway' };
    node.script('GET /v2/info', gateway, gateway, gateway);
    const error = await chainError(client({ maxRetries: 2 }).getInfo());
    assert.equal(error.reason, 'chain_unreachable');
    assert.equal(error.status, 502);
    assert.equal(error.attempts, 3);
    assert.equal(node.requests.length, 3);
    assert.deepEqual(sleeps, [500, 1000]);
  });

  test('honours an HTTP-date retry-after, measured on the injected clock', async () => {
    node.script('GET /v2/info', {
      status: 429,
      headers: { 'retry-after': new Date(clock + 5_000).toUTCString() },
    });
    await client().getInfo();
    assert.deepEqual(sleeps, [5_000]);
  });

  test('caps a long retry-after at 30 s and falls back to backoff for an unreadable one', async () => {
    node.script(
      'GET /v2/info',
      { status: 429, headers: { 'retry-after': '3600' } },
      { status: 429, headers: { 'retry-after': 'soon' } },
    );
    await client().getInfo();
    assert.deepEqual(sleeps, [30_000, 1000]);
    assert.equal(node.requests.length, 3);
  });

  test('error: 429 on every attempt is chain_rate_limited after maxRetries retries', async () => {
    const limited = { status: 429, headers: { 'retry-after': '1' }, json: { error: 'slow down' } };
    node.script('GET /v2/fees/transfer', limited, limited, limited, limited);
    const error = await chainError(client().getFeeRate());
    assert.equal(error.reason, 'chain_rate_limited');
    assert.equal(error.status, 429);
    assert.equal(error.attempts, 4);
    assert.equal(node.requests.length, 4);
    assert.deepEqual(sleeps, [1000, 1000, 1000]);
  });

  test('error: a slow GET times out on each attempt, and is retried', async () => {
    const slow = { status: 200, json: INFO, delayMs: 2_000 };
    node.script('GET /v2/info', slow, slow);
    const error = await chainError(client({ timeoutMs: 100, maxRetries: 1 }).getInfo());
    assert.equal(error.reason, 'chain_unreachable');
    assert.equal(error.status, undefined);
    assert.equal(error.attempts, 2);
    assert.equal(node.requests.length, 2);
  });

  test('error: an unexpected status is chain_bad_response and is not retried', async () => {
    node.script('GET /v2/info', { status: 500, text: 'internal error' });
    const error = await chainError(client().getInfo());
    assert.equal(error.reason, 'chain_bad_response');
    assert.equal(error.status, 500);
    assert.equal(node.requests.length, 1);
  });

  test('error: does not follow a redirect, so the key never reaches another host', async () => {
    node.script('GET /v2/info', {
      status: 302,
      headers: { location: `${node.url}/elsewhere/v2/info` },
    });
    const error = await chainError(client({ apiKey: 'hiro-key-0001' }).getInfo());
    assert.equal(error.reason, 'chain_bad_response');
    assert.equal(error.status, 302);
    assert.deepEqual(paths(), ['GET /v2/info']);
  });

  test("error: a redirect that keeps the base URL's query shows it hidden by name, however short its values", async () => {
    node.script('GET /v2/info', {
      status: 302,
      headers: { location: `${node.url}/elsewhere/v2/info?tenant=t1&sig=ab12` },
    });
    const error = await chainError(client({ url: `${node.url}/?tenant=t1&sig=ab12` }).getInfo());
    assert.match(
      error.message,
      /redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere\/v2\/info\?tenant=\*\*\*&sig=\*\*\*/,
    );
    assert.doesNotMatch(error.message, /t1|ab12/);
  });

  test('keeps a path prefix of the base URL', async () => {
    node.script('GET /stacks/v2/info', { status: 200, json: { ...INFO, stacks_tip_height: 777 } });
    assert.equal((await client({ url: `${node.url}/stacks/` }).getInfo()).stacksTipHeight, 777);
    assert.deepEqual(paths(), ['GET /stacks/v2/info']);
  });

  test("keeps the query of the base URL on every request, before the path's own", async () => {
    node.script('GET /stacks/v2/info', { status: 200, json: INFO });
    node.script(`GET /stacks/v2/accounts/${PAYER}`, { status: 200, json: ACCOUNT });
    const prefixed = client({ url: `${node.url}/stacks/?tenant=t1` });
    await prefixed.getInfo();
    await prefixed.getStxBalance(PAYER);
    assert.deepEqual(paths(), [
      'GET /stacks/v2/info?tenant=t1',
      `GET /stacks/v2/accounts/${PAYER}?tenant=t1&proof=0`,
    ]);
  });

  test('error: names the whole URL it requested, credentials redacted', async () => {
    node.script('GET /stacks/v2/info', { status: 500, text: 'down' });
    const url = `${node.url.replace('http://', 'http://alice:s3cret-pass@')}/stacks?tenant=t1`;
    const error = await chainError(client({ url, maxRetries: 0 }).getInfo());
    // The base's own query is hidden by name: a provider may authenticate by any parameter.
    const shown = `${node.url.replace('http://', 'http://***@')}/stacks/v2/info?tenant=***`;
    assert.equal(error.url, shown);
    assert.ok(error.message.startsWith(`GET ${shown} answered`), error.message);
    assert.doesNotMatch(error.message, /s3cret/);
  });

  test('error: a base path that starts with // stays a path in the URL it names', async () => {
    node.script('GET //api/v2/info', { status: 500, text: 'down' });
    const error = await chainError(client({ url: `${node.url}//api/`, maxRetries: 0 }).getInfo());
    assert.equal(error.reason, 'chain_bad_response');
    assert.equal(error.url, `${node.url}//api/v2/info`);
    assert.deepEqual(paths(), ['GET //api/v2/info']);
  });

  test("error: a value of the base URL's own query never shows, whatever its parameter is called", async () => {
    // The server echoes the request line back in its body, which the error quotes.
    node.script('GET /v2/info', {
      status: 500,
      text: 'bad request GET /v2/info?client=sekrit-value-1',
    });
    const error = await chainError(
      client({ url: `${node.url}/?client=sekrit-value-1`, maxRetries: 0 }).getInfo(),
    );
    assert.equal(error.url, `${node.url}/v2/info?client=***`);
    for (const shown of [error.message, error.details ?? ''])
      assert.doesNotMatch(shown, /sekrit/, shown);
  });

  test('error: a base URL refused for its form shows none of its query', () => {
    assert.throws(
      () =>
        createChainClient({ network: 'testnet', url: 'https://node.example/?client=sekrit#top' }),
      (error: unknown) =>
        error instanceof InvalidChainInputError &&
        /client=\*\*\*/.test(error.message) &&
        !error.message.includes('sekrit'),
    );
  });

  test('sends URL credentials as Basic auth, never in the URL', async () => {
    const url = node.url.replace('http://', 'http://alice:s3cret-pass@');
    await client({ url }).getInfo();
    const expected = `Basic ${Buffer.from('alice:s3cret-pass').toString('base64')}`;
    assert.equal(node.requests[0]?.headers.authorization, expected);
    assert.equal(node.requests[0]?.url, '/v2/info');
  });

  test('error: messages contain neither the API key nor URL credentials', async () => {
    const apiKey = 'hiro-key-7f3a9c';
    const url = node.url.replace('http://', 'http://alice:s3cret-pass@');
    // The server echoes the key back in its body, which the error quotes.
    node.script('GET /v2/info', {
      status: 500,
      text: `invalid key ${apiKey} for alice:s3cret-pass`,
    });
    const error = await chainError(client({ url, apiKey }).getInfo());
    assert.equal(error.reason, 'chain_bad_response');
    assert.match(error.message, /invalid key \*\*\*/);
    assert.match(error.message, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/v2\/info/);
    for (const text of [error.message, error.url, error.details ?? '']) {
      assert.equal(text.includes(apiKey), false, text);
      assert.equal(text.includes('s3cret-pass'), false, text);
    }
  });

  test('error: unreachable errors are redacted too', async () => {
    const port = await closedPort();
    const error = await chainError(
      client({
        url: `http://bob:hunter22@127.0.0.1:${port}`,
        apiKey: 'hiro-key-7f3a9c',
        maxRetries: 0,
      }).getInfo(),
    );
    assert.equal(error.reason, 'chain_unreachable');
    assert.equal(error.message.includes('hunter22'), false);
    assert.equal(error.message.includes('hiro-key-7f3a9c'), false);
    assert.match(error.message, /\*\*\*@127\.0\.0\.1/);
  });

  test('error: refuses bad options at creation', () => {
    const cases: Partial<ChainClientOptions>[] = [
      { url: 'ftp://node.example' },
      { url: 'not a url' },
      { url: 'http://node.example/#x' },
      { timeoutMs: 0 },
      { timeoutMs: Number.NaN },
      { maxRetries: -1 },
      { maxRetries: 1.5 },
      { notFoundGraceMs: -1 },
    ];
    for (const options of cases) {
      assert.throws(() => client(options), InvalidChainInputError, JSON.stringify(options));
    }
  });

  test('error: an invalid URL is reported without its credentials', () => {
    assert.throws(
      () => client({ url: 'ftp://carol:topsecret@node.example' }),
      (error: Error) =>
        error instanceof InvalidChainInputError && !error.message.includes('topsecret'),
    );
  });

  test('defaults to the network API URL', async () => {
    const seen: string[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      seen.push(String(input));
      return new Response(JSON.stringify(INFO), {
        headers: { 'content-type': 'application/json' },
      });
    };
    await createChainClient({ network: 'mainnet', fetch }).getInfo();
    assert.deepEqual(seen, ['https://api.mainnet.hiro.so/v2/info']);
  });

  test('network errors from an injected fetch are retried for reads', async () => {
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls++;
      if (calls === 1)
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
        });
      return new Response('1', { headers: { 'content-type': 'application/json' } });
    };
    assert.equal(await client({ fetch }).getFeeRate(), 1n);
    assert.equal(calls, 2);
  });

  test('error: a reset broadcast is not retried: it may have reached the node', async () => {
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls++;
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      });
    };
    const error = await chainError(client({ fetch }).broadcast(TX_HEX));
    assert.equal(calls, 1);
    assert.equal(error.txid, TX_TXID);
    assert.match(error.shortMessage, /ECONNRESET/);
  });
});
